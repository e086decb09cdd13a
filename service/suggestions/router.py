"""GET /participants/{id}/suggestions: the core's ranked, explained suggestions over the database's state."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.suggestions import service

router = APIRouter(tags=["suggestions"])


class RuleFailureOut(BaseModel):
    rule: str
    message: str


class SuggestionOut(BaseModel):
    slot_id: str
    site_id: str
    enterprise_id: str
    activity: str
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
    preference_rank: int
    reasons: list[RuleFailureOut]


class SuggestionsOut(BaseModel):
    participant_id: str
    date: date
    suggestions: list[SuggestionOut]
    excluded: list[ExcludedOut]


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
    on: Annotated[date | None, Query(alias="date", description="Plan date (default: today).")] = None,
) -> SuggestionsOut:
    day = on or date.today()
    result = service.suggestions(session, user, participant_id, day, k)
    record(session, user, "read", [result.participant_id], request)
    return SuggestionsOut.model_validate({**asdict(result), "date": day})
