"""Endpoints for enterprises, sites and slots. Site and slot changes need `If-Match` and are kept in a history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from service.audit.log import record
from service.catalogue import capacity, scheduled, service
from service.catalogue.schemas import (
    CapacityChangePublic,
    EnterpriseCreate,
    EnterprisePublic,
    EnterpriseUpdate,
    ScheduledChangePreview,
    ScheduledChangePublic,
    ScheduledSiteChangeCreate,
    ScheduledSlotChangeCreate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    SlotCreate,
    SlotPublic,
    SlotUpdate,
)
from service.db import models as db
from service.deps import ALL_ROLES, CurrentUser, SessionDep, roles
from service.fields import MAX_HEADER_LENGTH, IdPath, IdQuery
from service.idempotency.http import idempotent
from service.pagination import Page, PageDep
from service.params import Day

router = APIRouter(tags=["places"])
Role = db.Role
EDITORS = (Role.coordinator, Role.enterprise_manager)
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "below what the active placements hold or need (names them and who may end or move them), or "
        "active placements would break rules of a feasible pair (names each and its rules; send force=true)"
    },
    412: {"description": "stale If-Match"},
    428: {"description": "If-Match missing"},
}
IfMatch = Annotated[str | None, Header(max_length=MAX_HEADER_LENGTH, description="The ETag from the last read.")]
OnDate = Annotated[
    Day | None,
    Query(description="the capacity in force on this date: today's with the scheduled changes effective by then"),
]
SCHEDULE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "another scheduled change sets the same field on the same date (it is named), or on its date "
        "active placements would break rules of a feasible pair (names each and its rules; send force=true)"
    },
    412: {"description": "stale If-Match"},
    422: {"description": "effective_from not after today, no field, or inconsistent capacity on that date"},
    428: {"description": "If-Match missing"},
}
Preview = Annotated[bool, Query(description="true: say what the change would do on its date, save nothing")]
Force = Annotated[
    bool,
    Query(
        description="true: make a change that breaks rules of active placements (hours, days, supports, programmes, "
        "age, women only, availability) and record each broken rule as a warning on the placement; without it such "
        "a change is refused (409, reason `placements_break_rules`). Seats and supervision are never forced."
    ),
]


# --- enterprises -------------------------------------------------------------------------------------------------


@router.get("/enterprises", response_model=Page[EnterprisePublic], **roles(*ALL_ROLES))
def list_enterprises(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[EnterprisePublic]:
    items, total = service.list_enterprises(session, user, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/enterprises", status_code=201, response_model=EnterprisePublic, **idempotent(roles(Role.coordinator)))
def create_enterprise(body: EnterpriseCreate, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    return service.create_enterprise(session, user, body)


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*ALL_ROLES))
def get_enterprise(enterprise_id: IdPath, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    return service.get_enterprise(session, user, enterprise_id)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*EDITORS))
def update_enterprise(
    enterprise_id: IdPath, body: EnterpriseUpdate, session: SessionDep, user: CurrentUser
) -> db.Enterprise:
    return service.update_enterprise(session, user, enterprise_id, body)


@router.delete("/enterprises/{enterprise_id}", status_code=204, **roles(Role.coordinator))
def delete_enterprise(enterprise_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_enterprise(session, user, enterprise_id)
    return Response(status_code=204)


# --- sites -------------------------------------------------------------------------------------------------------


@router.get("/sites", response_model=Page[SitePublic], **roles(*ALL_ROLES))
def list_sites(
    session: SessionDep, user: CurrentUser, page: PageDep, enterprise_id: IdQuery = None
) -> Page[SitePublic]:
    items, total = service.list_sites(session, user, page, enterprise_id)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/sites", status_code=201, response_model=SitePublic, **idempotent(roles(*EDITORS)))
def create_site(body: SiteCreate, session: SessionDep, user: CurrentUser, response: Response) -> db.Site:
    site = service.create_site(session, user, body)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.get("/sites/{site_id}", response_model=SitePublic, **roles(*ALL_ROLES))
def get_site(
    site_id: IdPath, session: SessionDep, user: CurrentUser, response: Response, on: OnDate = None
) -> SitePublic:
    site = service.get_site(session, user, site_id)
    response.headers["ETag"] = capacity.etag(site)
    public = SitePublic.model_validate(site)
    if on is not None:
        public = public.model_copy(update=scheduled.on_date(session, user, "site", site_id, on))
    return public


@router.patch("/sites/{site_id}", response_model=SitePublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_site(
    site_id: IdPath,
    body: SiteUpdate,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
    force: Force = False,
) -> db.Site:
    site = service.update_site(session, user, site_id, body, if_match, force)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.delete("/sites/{site_id}", status_code=204, **roles(*EDITORS))
def delete_site(site_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_site(session, user, site_id)
    return Response(status_code=204)


@router.get("/sites/{site_id}/history", response_model=list[CapacityChangePublic], **roles(*EDITORS))
def site_history(site_id: IdPath, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return service.site_history(session, user, site_id)


# --- slots -------------------------------------------------------------------------------------------------------


def _public(slot: db.Slot, taken: int) -> SlotPublic:
    return SlotPublic.model_validate(
        {**{c: getattr(slot, c) for c in SlotPublic.model_fields if c != "taken"}, "taken": taken}
    )


@router.get("/slots", response_model=Page[SlotPublic], **roles(*ALL_ROLES))
def list_slots(session: SessionDep, user: CurrentUser, page: PageDep, site_id: IdQuery = None) -> Page[SlotPublic]:
    items, total = service.list_slots(session, user, page, site_id)
    return Page(items=[_public(s, taken) for s, taken in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/slots", status_code=201, response_model=SlotPublic, **idempotent(roles(*EDITORS)))
def create_slot(body: SlotCreate, session: SessionDep, user: CurrentUser, response: Response) -> SlotPublic:
    slot = service.create_slot(session, user, body)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, 0)


@router.get("/slots/{slot_id}", response_model=SlotPublic, **roles(*ALL_ROLES))
def get_slot(
    slot_id: IdPath, session: SessionDep, user: CurrentUser, response: Response, on: OnDate = None
) -> SlotPublic:
    slot, taken = service.get_slot(session, user, slot_id)
    response.headers["ETag"] = capacity.etag(slot)
    public = _public(slot, taken)
    if on is not None:
        public = public.model_copy(update=scheduled.on_date(session, user, "slot", slot_id, on))
    return public


@router.patch("/slots/{slot_id}", response_model=SlotPublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_slot(
    slot_id: IdPath,
    body: SlotUpdate,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
    force: Force = False,
) -> SlotPublic:
    slot, taken = service.update_slot(session, user, slot_id, body, if_match, force)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, taken)


@router.delete("/slots/{slot_id}", status_code=204, **roles(*EDITORS))
def delete_slot(slot_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_slot(session, user, slot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/slots/{slot_id}/history",
    response_model=list[CapacityChangePublic],
    **roles(Role.coordinator, Role.enterprise_manager),
)
def slot_history(slot_id: IdPath, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return service.slot_history(session, user, slot_id)


# --- scheduled (dated) capacity changes ---------------------------------------------------------------------------


def _create_scheduled(
    kind: str,
    target_id: str,
    body: ScheduledSlotChangeCreate | ScheduledSiteChangeCreate,
    session: Any,
    user: db.User,
    request: Request,
    response: Response,
    if_match: str | None,
    preview: bool,
    force: bool = False,
) -> db.ScheduledCapacityChange | ScheduledChangePreview:
    result = scheduled.create(session, user, kind, target_id, body, if_match, preview, force)
    if isinstance(result, ScheduledChangePreview):
        response.status_code = 200
        named = [
            *(result.gain_participant_ids or []),
            *(result.certainly_lose_participant_ids or []),
            *(result.placed_only_without_change_ids or []),
        ]
        record(session, user, "read", named, request)
    return result


@router.post(
    "/slots/{slot_id}/scheduled-changes",
    status_code=201,
    response_model=ScheduledChangePublic | ScheduledChangePreview,
    responses=SCHEDULE_RESPONSES,
    **idempotent(roles(*EDITORS)),
)
def create_slot_scheduled_change(
    slot_id: IdPath,
    body: ScheduledSlotChangeCreate,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
    preview: Preview = False,
    force: Force = False,
) -> db.ScheduledCapacityChange | ScheduledChangePreview:
    return _create_scheduled("slot", slot_id, body, session, user, request, response, if_match, preview, force)


@router.get("/slots/{slot_id}/scheduled-changes", response_model=list[ScheduledChangePublic], **roles(*EDITORS))
def list_slot_scheduled_changes(
    slot_id: IdPath, session: SessionDep, user: CurrentUser
) -> list[db.ScheduledCapacityChange]:
    return scheduled.list_changes(session, user, "slot", slot_id)


@router.delete("/slots/{slot_id}/scheduled-changes/{change_id}", status_code=204, **roles(*EDITORS))
def delete_slot_scheduled_change(
    slot_id: IdPath, change_id: Annotated[int, Path(ge=1, le=db.MAX_INT)], session: SessionDep, user: CurrentUser
) -> Response:
    scheduled.delete(session, user, "slot", slot_id, change_id)
    return Response(status_code=204)


@router.post(
    "/sites/{site_id}/scheduled-changes",
    status_code=201,
    response_model=ScheduledChangePublic | ScheduledChangePreview,
    responses=SCHEDULE_RESPONSES,
    **idempotent(roles(*EDITORS)),
)
def create_site_scheduled_change(
    site_id: IdPath,
    body: ScheduledSiteChangeCreate,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
    preview: Preview = False,
) -> db.ScheduledCapacityChange | ScheduledChangePreview:
    return _create_scheduled("site", site_id, body, session, user, request, response, if_match, preview)


@router.get("/sites/{site_id}/scheduled-changes", response_model=list[ScheduledChangePublic], **roles(*EDITORS))
def list_site_scheduled_changes(
    site_id: IdPath, session: SessionDep, user: CurrentUser
) -> list[db.ScheduledCapacityChange]:
    return scheduled.list_changes(session, user, "site", site_id)


@router.delete("/sites/{site_id}/scheduled-changes/{change_id}", status_code=204, **roles(*EDITORS))
def delete_site_scheduled_change(
    site_id: IdPath, change_id: Annotated[int, Path(ge=1, le=db.MAX_INT)], session: SessionDep, user: CurrentUser
) -> Response:
    scheduled.delete(session, user, "site", site_id, change_id)
    return Response(status_code=204)
