"""The data-subject rights of a participant, for coordinators: everything stored about them, and erasure.

Both are audited: the record as a read of the participant, the erasure under the pseudonym (the erased id is
kept nowhere, not in the audit log either)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from service.audit.log import record
from service.audit.router import AuditEntryPublic, public_entry
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.fields import IdPath
from service.idempotency.http import idempotent
from service.placements.schemas import PlacementPublic
from service.subject import service

router = APIRouter(tags=["participants"])
API = "/api/v1"


class TravelTimePublic(BaseModel):
    site_id: str
    minutes: int


class PlanMention(BaseModel):
    plan_id: int
    status: str
    plan_date: date
    created_at: datetime
    result: dict[str, Any] = Field(description="the parts of the stored result that name the participant")
    progress: dict[str, Any] = Field(description="the parts of the stored progress that name the participant")
    error: str | None


class SubjectRecord(BaseModel):
    participant_id: str
    generated_at: datetime
    participant: dict[str, Any] = Field(description="every stored field of the participant's row")
    current_slot_id: str | None
    travel_times: list[TravelTimePublic]
    placements: list[PlacementPublic] = Field(description="active and ended, with their warnings")
    plans: list[PlanMention] = Field(description="the association's plans whose stored result or progress names them")
    audit: list[AuditEntryPublic] = Field(description="the association's audit entries about them, oldest first")


class ErasureResult(BaseModel):
    pseudonym: str = Field(description="replaces the participant's id everywhere; unique to this erasure")
    placements: int = Field(description="placements kept under the pseudonym (the aggregate reports count them)")
    travel_times: int = Field(description="travel times deleted")
    plans: int = Field(description="plans whose result, progress or error named the participant")
    audit_entries: int = Field(description="audit entries whose participants or path named the participant")


RESPONSES: dict[int | str, dict[str, Any]] = {404: {"description": "no such participant in the association"}}


@router.get(
    "/participants/{participant_id}/record",
    response_model=SubjectRecord,
    responses=RESPONSES,
    summary="Everything stored about one participant (a subject access request)",
    **roles(db.Role.coordinator),
)
def subject_record(participant_id: IdPath, session: SessionDep, user: CurrentUser, request: Request) -> SubjectRecord:
    """The participant's row, travel times, placements, the plans naming them and the audit entries about them, as
    JSON. The request is itself audited (a read of the participant; it is not in its own answer)."""
    found = service.record(session, user, participant_id)
    record(session, user, "read", [participant_id], request)
    return SubjectRecord.model_validate(
        {
            **found,
            "placements": [PlacementPublic.model_validate(p) for p in found["placements"]],
            "audit": [public_entry(e) for e in found["audit"]],
        }
    )


@router.post(
    "/participants/{participant_id}/erasure",
    response_model=ErasureResult,
    responses={**RESPONSES, 409: {"description": "the participant holds an active placement; end it first"}},
    summary="Erase a participant: their id replaced everywhere by a pseudonym, personal fields removed",
    **idempotent(roles(db.Role.coordinator)),
)
def erase_participant(participant_id: IdPath, session: SessionDep, user: CurrentUser) -> ErasureResult:
    """Anonymise the participant everywhere (placements, plans, audit entries): their id becomes a pseudonym
    `ERASED-…` of this erasure, their row keeps only programme and hours per week (for the aggregate reports) and
    no route shows it again; travel times are deleted. Refused (409) while a placement is active. Audited under the
    pseudonym. A plain `DELETE /participants/{id}` still removes a participant without placements. A retry with the
    same `Idempotency-Key` gets the first answer (the pseudonym) again."""
    erased = service.erase(session, user, participant_id)
    record(session, user, "erase", [erased.pseudonym], f"{API}/participants/{erased.pseudonym}/erasure", "POST")
    return ErasureResult(**vars(erased))
