"""Placement endpoints: take a seat (409 when full or not feasible), end it with a reason, list them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from service.access import participant_filter, visible_participant, visible_slot
from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import Conflict, InvalidInput, NotFound
from service.pagination import Page, PageDep, fetch_page
from service.placements.schemas import PlacementCreate, PlacementEnd, PlacementPublic
from service.placements.service import take_seat

router = APIRouter(tags=["placements"])
Role = db.Role
PlacementId = Annotated[int, Path(ge=1, le=db.MAX_INT)]


@router.post(
    "/placements",
    status_code=201,
    response_model=PlacementPublic,
    responses={409: {"description": "the slot is full, the pair is not feasible, or the person holds a seat"}},
    **roles(Role.coach, Role.coordinator),
)
def create_placement(body: PlacementCreate, session: SessionDep, user: CurrentUser, request: Request) -> db.Placement:
    person = visible_participant(session, user, body.participant_id)
    slot = visible_slot(session, user, body.slot_id)
    placement = take_seat(session, person, slot, body.start_date, user)
    record(session, user, "create", [person.id], request)
    return placement


def _visible_placement(session: SessionDep, user: db.User, placement_id: int) -> db.Placement:
    placement = session.get(db.Placement, placement_id)
    if placement is None:
        raise NotFound(f"no placement {placement_id}")
    try:
        visible_participant(session, user, placement.participant_id)
    except NotFound:
        raise NotFound(f"no placement {placement_id}") from None
    return placement


@router.get("/placements", response_model=Page[PlacementPublic], **roles(Role.coach, Role.coordinator))
def list_placements(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    request: Request,
    participant_id: Annotated[str | None, Query()] = None,
    slot_id: Annotated[str | None, Query()] = None,
    active: Annotated[bool | None, Query(description="true: only active; false: only ended")] = None,
) -> Page[PlacementPublic]:
    query = (
        select(db.Placement)
        .join(db.Participant, db.Participant.id == db.Placement.participant_id)
        .where(participant_filter(user))
        .order_by(db.Placement.id)
    )
    if participant_id:
        query = query.where(db.Placement.participant_id == participant_id)
    if slot_id:
        query = query.where(db.Placement.slot_id == slot_id)
    if active is not None:
        query = query.where(db.Placement.end_date.is_(None) if active else db.Placement.end_date.is_not(None))
    items, total = fetch_page(session, query, page)
    record(session, user, "read", sorted({p.participant_id for p in items}), request)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/placements/{placement_id}", response_model=PlacementPublic, **roles(Role.coach, Role.coordinator))
def get_placement(placement_id: PlacementId, session: SessionDep, user: CurrentUser, request: Request) -> db.Placement:
    placement = _visible_placement(session, user, placement_id)
    record(session, user, "read", [placement.participant_id], request)
    return placement


@router.patch("/placements/{placement_id}", response_model=PlacementPublic, **roles(Role.coach, Role.coordinator))
def end_placement(
    placement_id: PlacementId, body: PlacementEnd, session: SessionDep, user: CurrentUser, request: Request
) -> db.Placement:
    placement = _visible_placement(session, user, placement_id)
    if placement.end_date is not None:
        raise Conflict(f"placement {placement_id} ended already on {placement.end_date.isoformat()}")
    end = body.end_date or date.today()
    if end < placement.start_date:
        raise InvalidInput(f"end_date {end.isoformat()} is before start_date {placement.start_date.isoformat()}")
    placement.end_date = end
    placement.end_reason = db.EndReason(body.end_reason)
    person = session.get(db.Participant, placement.participant_id)
    if person is not None and person.pinned:
        person.pinned = False  # nothing left to keep
    record(session, user, "update", [placement.participant_id], request)
    return placement
