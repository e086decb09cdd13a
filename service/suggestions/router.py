"""GET /participants/{id}/suggestions: the core's ranked, explained suggestions over the database's state."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from matcher import EXPLANATION_LABELS
from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.suggestions import service

router = APIRouter(tags=["suggestions"])


class RuleFailureOut(BaseModel):
    rule: str = Field(json_schema_extra={"enum": list(EXPLANATION_LABELS)})  # the core's rule labels
    message: str


class SuggestionOut(BaseModel):
    slot_id: str
    site_id: str
    enterprise_id: str
    activity: str
    enterprise_name: str
    site_name: str
    activity_name: str = Field(description="The data has codes only for activities: the code.")
    travel_minutes: int
    score: int
    score_parts: dict[str, int]
    free_seats: int
    preference_rank: int | None


class ExcludedOut(BaseModel):
    slot_id: str
    site_id: str
    enterprise_id: str
    activity: str
    enterprise_name: str
    site_name: str
    activity_name: str
    travel_minutes: int | None
    preference_rank: int | None = Field(description="1 = most wanted; null when the activity is not preferred.")
    nearest: bool = Field(
        description="Listed as one of the nearest slots that do not fit (when fewer than k are suggested), "
        "not as a preferred one."
    )
    reasons: list[RuleFailureOut]


class SuggestionsOut(BaseModel):
    participant_id: str
    date: date
    suggestions: list[SuggestionOut]
    excluded: list[ExcludedOut]
    notes: list[str] = Field(description="What keeps every slot in reach out, when fewer than k are suggested.")


@router.get(
    "/participants/{participant_id}/suggestions",
    response_model=SuggestionsOut,
    **roles(db.Role.coach, db.Role.coordinator),
)
def suggestions(
    participant_id: str,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    k: Annotated[int, Query(ge=1, le=50, description="How many suggestions.")] = 5,
    per_site: Annotated[int, Query(ge=1, le=50, description="At most this many suggestions from one site.")] = 2,
    on: Annotated[date | None, Query(alias="date", description="Plan date (default: today).")] = None,
) -> SuggestionsOut:
    day = on or date.today()
    result = service.suggestions(session, user, participant_id, day, k, per_site)
    record(session, user, "read", [result.participant_id], request)
    return SuggestionsOut.model_validate({**asdict(result), "date": day})
