"""Placement endpoints: take a seat (409 when full or not feasible), end it with a reason, list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.fields import IdQuery
from service.idempotency.http import idempotent
from service.pagination import Page, PageDep
from service.placements import service
from service.placements.schemas import PlacementCreate, PlacementEnd, PlacementPublic

router = APIRouter(tags=["placements"])
Role = db.Role
PlacementId = Annotated[int, Path(ge=1, le=db.MAX_INT)]


@router.post(
    "/placements",
    status_code=201,
    response_model=PlacementPublic,
    responses={409: {"description": "the slot is full, the pair is not feasible, or the person holds a seat"}},
    **idempotent(roles(Role.coach, Role.coordinator)),
)
def create_placement(body: PlacementCreate, session: SessionDep, user: CurrentUser, request: Request) -> db.Placement:
    placement = service.create_placement(session, user, body.participant_id, body.slot_id, body.start_date)
    record(session, user, "create", [placement.participant_id], request)
    return placement


@router.get("/placements", response_model=Page[PlacementPublic], **roles(Role.coach, Role.coordinator))
def list_placements(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    request: Request,
    participant_id: IdQuery = None,
    slot_id: IdQuery = None,
    active: Annotated[bool | None, Query(description="true: only active; false: only ended")] = None,
) -> Page[PlacementPublic]:
    items, total = service.list_placements(session, user, page, participant_id, slot_id, active)
    record(session, user, "read", sorted({p.participant_id for p in items}), request)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/placements/{placement_id}", response_model=PlacementPublic, **roles(Role.coach, Role.coordinator))
def get_placement(placement_id: PlacementId, session: SessionDep, user: CurrentUser, request: Request) -> db.Placement:
    placement = service.visible_placement(session, user, placement_id)
    record(session, user, "read", [placement.participant_id], request)
    return placement


@router.patch("/placements/{placement_id}", response_model=PlacementPublic, **roles(Role.coach, Role.coordinator))
def end_placement(
    placement_id: PlacementId, body: PlacementEnd, session: SessionDep, user: CurrentUser, request: Request
) -> db.Placement:
    placement = service.end_placement(session, user, placement_id, body.end_reason, body.end_date)
    record(session, user, "update", [placement.participant_id], request)
    return placement
