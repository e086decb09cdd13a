"""Plan bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import matcher
from service.catalogue.schemas import Strict
from service.db.models import PlanStatus


class PlanCreate(Strict):
    date: date
    time_limit_s: float = Field(30.0, gt=0, le=3600)
    weights: matcher.ScoreWeights | None = None


class PlanCreated(BaseModel):
    id: int
    status: PlanStatus
    location: str


class PlanPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    status: PlanStatus
    plan_date: date
    time_limit_s: float
    weights: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: dict[str, Any] | None = Field(None, description="best plan so far: placed, score, placed_bound, seconds")
    result: dict[str, Any] | None = Field(None, description="when done: summary, warnings and proposals")
    error: str | None


class PlanApply(Strict):
    participant_ids: list[str] | None = Field(
        None, description="the proposals to apply; default: every proposal that places someone new or moves them"
    )
    start_date: date | None = Field(None, description="start of the new placements; default: the plan's date")


class ApplyOutcome(BaseModel):
    participant_id: str
    slot_id: str | None
    status: str  # applied, refused
    reason: str | None = None
    placement_id: int | None = None


class PlanApplied(BaseModel):
    plan_id: int
    applied: int
    refused: int
    outcomes: list[ApplyOutcome]
