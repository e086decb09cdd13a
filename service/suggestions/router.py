"""GET /participants/{id}/suggestions: the core's ranked, explained suggestions over the database's state."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

import matcher
from matcher import EXPLANATION_LABELS
from service.audit.log import record
from service.db import models as db
from service.deps import (
    Credentials,
    CurrentUser,
    Gate,
    SessionDep,
    database_gate,
    roles,
    roles_checked_by,
    suggestion_gate,
)
from service.fields import ID_PATTERN, MAX_ID_LENGTH, IdPath
from service.params import Day
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


SUGGESTIONS = Gate(db.Role.coach, db.Role.coordinator)


@router.get(
    "/participants/{participant_id}/suggestions",
    response_model=SuggestionsOut,
    **roles_checked_by(SUGGESTIONS),
)
async def suggestions(
    participant_id: IdPath,
    request: Request,
    credentials: Credentials,
    k: Annotated[int, Query(ge=1, le=50, description="How many suggestions.")] = 5,
    per_site: Annotated[int, Query(ge=1, le=50, description="At most this many suggestions from one site.")] = 2,
    on: Annotated[
        Day | None,
        Query(alias="date", description="Plan date (default: today); the capacity in force then (dated changes)."),
    ] = None,
) -> Response:
    # The hottest read: all of it in one worker thread (caller, role, data, audit), not a thread per dependency; the
    # answer is `SuggestionsOut` encoded once (FastAPI would validate it again). No docstring: it would be published.
    day = on or date.today()
    async with suggestion_gate(request), database_gate(request):  # in that order: a queued one holds no session
        body = await anyio.to_thread.run_sync(_suggestions, request, credentials, participant_id, day, k, per_site)
    return Response(content=body, media_type="application/json")


def _suggestions(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    participant_id: str,
    day: date,
    k: int,
    per_site: int,
) -> bytes:
    return service.suggestions_read_and_audited(
        request.app.state.session_factory,
        lambda session: SUGGESTIONS.caller(request, session, credentials),
        participant_id, day, k, per_site, request.method, request.url.path,
        lambda result: suggestions_out(result, day).model_dump_json().encode(),
    )  # fmt: skip


def suggestions_out(result: matcher.Suggestions, day: date) -> SuggestionsOut:
    # From the attributes, not asdict(): the deep copy cost as much as the suggestion itself.
    return SuggestionsOut(
        participant_id=result.participant_id,
        date=day,
        suggestions=[SuggestionOut.model_validate(s, from_attributes=True) for s in result.suggestions],
        excluded=[ExcludedOut.model_validate(e, from_attributes=True) for e in result.excluded],
        notes=list(result.notes),
    )


class EditOut(BaseModel):
    table: str = Field(description="participants, slots or sites")
    key: str = Field(description="The record's id.")
    column: str = Field(description="A column of the data format.")
    value: Any = Field(description="The value the column would need.")


class WhatIfChangeOut(BaseModel):
    rule: str = Field(json_schema_extra={"enum": list(EXPLANATION_LABELS)})
    reason: str = Field(description="Why the rule keeps the person out now, as the rule words it.")
    change: str = Field(description="The smallest change that would satisfy the rule, in the rule's words.")
    amount: float | None = Field(description="How much, in `unit`; null for a yes/no change.")
    unit: str = Field(description="min, h/week, years, days, seats or supervisor h; empty for a yes/no change.")
    edits: list[EditOut]
    alone_suffices: bool = Field(description="This change alone would let the person in.")


class WhatIfOut(BaseModel):
    participant_id: str
    slot_id: str
    site_id: str
    date: date
    fits_now: bool
    changes: list[WhatIfChangeOut]
    explanation: str


def _edit_value(value: object) -> object:
    return sorted(value) if isinstance(value, frozenset) else value  # sets as sorted lists: the same JSON each time


@router.get(
    "/participants/{participant_id}/whatif",
    response_model=WhatIfOut,
    **roles(db.Role.coach, db.Role.coordinator),
)
def what_if(
    participant_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    slot_id: Annotated[
        str,
        Query(
            min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description="The slot the person is wanted in."
        ),
    ],
    on: Annotated[
        Day | None,
        Query(alias="date", description="Plan date (default: today); the capacity in force then (dated changes)."),
    ] = None,
) -> WhatIfOut:
    day = on or date.today()
    result = service.what_if(session, user, participant_id, slot_id, day)
    record(session, user, "read", [result.participant_id], request)
    changes = [
        WhatIfChangeOut.model_validate(
            {**asdict(c), "edits": [{**asdict(e), "value": _edit_value(e.value)} for e in c.edits]}
        )
        for c in result.changes
    ]
    return WhatIfOut(
        participant_id=result.participant_id, slot_id=result.slot_id, site_id=result.site_id, date=day,
        fits_now=result.fits_now, changes=changes, explanation=result.explanation,
    )  # fmt: skip
