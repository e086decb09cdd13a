"""Participant endpoints. Every read or change is written to the audit log in the same transaction."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from service.access import participant_filter, visible_participant
from service.audit.log import record
from service.core_bridge import active_placements
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import Conflict, Forbidden, InvalidInput
from service.pagination import Page, PageDep, fetch_page
from service.participants.schemas import ParticipantCreate, ParticipantPublic, ParticipantUpdate

router = APIRouter(tags=["participants"])
Role = db.Role
NULLABLE = {"age", "gender", "waiting_since", "coach_id"}


def _public(person: db.Participant, current_slot_id: str | None) -> ParticipantPublic:
    data = {c: getattr(person, c) for c in ParticipantPublic.model_fields if c != "current_slot_id"}
    return ParticipantPublic.model_validate({**data, "current_slot_id": current_slot_id})


def _current_slot(session: SessionDep, participant_id: str) -> str | None:
    return session.scalar(
        select(db.Placement.slot_id).where(db.Placement.participant_id == participant_id, db.Placement.end_date.is_(None))
    )


def _check_coach(session: SessionDep, user: db.User, coach_id: int | None) -> None:
    if coach_id is None:
        return
    coach = session.get(db.User, coach_id)
    if coach is None or coach.role is not Role.coach or coach.association_id != user.association_id:
        raise InvalidInput(f"coach_id {coach_id} is not a coach of this association")
    if user.role is Role.coach and coach_id != user.id:
        raise Forbidden("a coach can assign participants only to themselves")


@router.get("/participants", response_model=Page[ParticipantPublic], **roles(Role.coach, Role.coordinator))
def list_participants(session: SessionDep, user: CurrentUser, page: PageDep, request: Request) -> Page[ParticipantPublic]:
    query = select(db.Participant).where(participant_filter(user)).order_by(db.Participant.id)
    items, total = fetch_page(session, query, page)
    active = active_placements(session, user.association_id)
    record(session, user, "read", [p.id for p in items], request)
    return Page(
        items=[_public(p, active[p.id].slot_id if p.id in active else None) for p in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/participants", status_code=201, response_model=ParticipantPublic, **roles(Role.coach, Role.coordinator))
def create_participant(body: ParticipantCreate, session: SessionDep, user: CurrentUser, request: Request) -> ParticipantPublic:
    if session.get(db.Participant, body.id) is not None:
        raise Conflict(f"participant '{body.id}' exists already")
    coach_id = body.coach_id if body.coach_id is not None or user.role is not Role.coach else user.id
    _check_coach(session, user, coach_id)
    if body.pinned:
        raise InvalidInput("pinned: a new participant holds no seat yet; pin after a placement")
    person = db.Participant(association_id=user.association_id, **{**body.model_dump(), "coach_id": coach_id})
    session.add(person)
    session.flush()
    record(session, user, "create", [person.id], request)
    return _public(person, None)


@router.get("/participants/{participant_id}", response_model=ParticipantPublic, **roles(Role.coach, Role.coordinator))
def get_participant(participant_id: str, session: SessionDep, user: CurrentUser, request: Request) -> ParticipantPublic:
    person = visible_participant(session, user, participant_id)
    record(session, user, "read", [person.id], request)
    return _public(person, _current_slot(session, person.id))


@router.patch("/participants/{participant_id}", response_model=ParticipantPublic, **roles(Role.coach, Role.coordinator))
def update_participant(
    participant_id: str, body: ParticipantUpdate, session: SessionDep, user: CurrentUser, request: Request
) -> ParticipantPublic:
    person = visible_participant(session, user, participant_id)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in NULLABLE:
            raise InvalidInput(f"{field} cannot be null")
    if "coach_id" in changes:
        _check_coach(session, user, changes["coach_id"])
    current = _current_slot(session, person.id)
    if changes.get("pinned") and current is None:
        raise InvalidInput("pinned: the participant holds no seat to keep")
    for field, value in changes.items():
        setattr(person, field, value)
    record(session, user, "update", [person.id], request)
    return _public(person, current)


@router.delete("/participants/{participant_id}", status_code=204, **roles(Role.coordinator))
def delete_participant(participant_id: str, session: SessionDep, user: CurrentUser, request: Request) -> Response:
    person = visible_participant(session, user, participant_id)
    if session.scalar(select(db.Placement.id).where(db.Placement.participant_id == person.id).limit(1)) is not None:
        raise Conflict(f"participant '{participant_id}' has placements kept for follow-up; they cannot be deleted")
    session.execute(db.TravelTime.__table__.delete().where(db.TravelTime.participant_id == person.id))
    session.delete(person)
    record(session, user, "delete", [participant_id], request)
    return Response(status_code=204)
