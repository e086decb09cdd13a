"""Placement bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.catalogue.schemas import Strict
from service.db.models import EndReason
from service.fields import Id, ParticipantId


class PlacementCreate(Strict):
    participant_id: ParticipantId
    slot_id: Id
    start_date: date


# What a coach or coordinator may give; `transferred` is reserved for moves made by an applied plan.
UserEndReason = Literal["work", "studies", "other_programme", "moved", "dropped_out", "health", "completed"]


class PlacementEnd(Strict):
    end_reason: UserEndReason
    end_date: date | None = Field(None, description="default: today")


class PlacementWarningPublic(BaseModel):
    """A rule the placement breaks since its slot was changed under it with `force=true`."""

    model_config = ConfigDict(from_attributes=True)
    rule: str = Field(description="the rule label (docs/data-format.md), e.g. hours_fit, days_overlap")
    message: str
    source: Literal["slot_change", "import", "scheduled"]
    slot_id: str
    effective_from: date | None = Field(description="a scheduled change's date: the rule breaks from then on")
    scheduled_change_id: int | None
    created_at: datetime


class PlacementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    participant_id: str
    slot_id: str
    start_date: date
    end_date: date | None
    end_reason: EndReason | None
    created_at: datetime
    plan_id: int | None
    warnings: list[PlacementWarningPublic] = Field(
        default_factory=list, description="rules broken since the slot was changed under the placement (force=true)"
    )
