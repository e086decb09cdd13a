"""Participant endpoints. Every read or change is written to the audit log in the same transaction."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.fields import IdPath
from service.idempotency.http import idempotent
from service.pagination import Page, PageDep
from service.participants import service
from service.participants.schemas import ParticipantCreate, ParticipantPublic, ParticipantUpdate

router = APIRouter(tags=["participants"])
Role = db.Role


def _public(person: db.Participant, current_slot_id: str | None) -> ParticipantPublic:
    data = {c: getattr(person, c) for c in ParticipantPublic.model_fields if c != "current_slot_id"}
    return ParticipantPublic.model_validate({**data, "current_slot_id": current_slot_id})


@router.get("/participants", response_model=Page[ParticipantPublic], **roles(Role.coach, Role.coordinator))
def list_participants(
    session: SessionDep, user: CurrentUser, page: PageDep, request: Request
) -> Page[ParticipantPublic]:
    items, total = service.list_participants(session, user, page)
    record(session, user, "read", [p.id for p, _ in items], request)
    return Page(items=[_public(p, slot_id) for p, slot_id in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/participants",
    status_code=201,
    response_model=ParticipantPublic,
    **idempotent(roles(Role.coach, Role.coordinator)),
)
def create_participant(
    body: ParticipantCreate, session: SessionDep, user: CurrentUser, request: Request
) -> ParticipantPublic:
    person = service.create_participant(session, user, body)
    record(session, user, "create", [person.id], request)
    return _public(person, None)


@router.get("/participants/{participant_id}", response_model=ParticipantPublic, **roles(Role.coach, Role.coordinator))
def get_participant(
    participant_id: IdPath, session: SessionDep, user: CurrentUser, request: Request
) -> ParticipantPublic:
    person, current = service.get_participant(session, user, participant_id)
    record(session, user, "read", [person.id], request)
    return _public(person, current)


@router.patch("/participants/{participant_id}", response_model=ParticipantPublic, **roles(Role.coach, Role.coordinator))
def update_participant(
    participant_id: IdPath, body: ParticipantUpdate, session: SessionDep, user: CurrentUser, request: Request
) -> ParticipantPublic:
    person, current = service.update_participant(session, user, participant_id, body)
    record(session, user, "update", [person.id], request)
    return _public(person, current)


@router.delete("/participants/{participant_id}", status_code=204, **roles(Role.coordinator))
def delete_participant(participant_id: IdPath, session: SessionDep, user: CurrentUser, request: Request) -> Response:
    service.delete_participant(session, user, participant_id)
    record(session, user, "delete", [participant_id], request)
    return Response(status_code=204)
