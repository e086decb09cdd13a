"""Endpoints for enterprises, sites and slots. Site and slot changes need `If-Match` and are kept in a history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from service.catalogue import capacity, service
from service.catalogue.schemas import (
    CapacityChangePublic,
    EnterpriseCreate,
    EnterprisePublic,
    EnterpriseUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    SlotCreate,
    SlotPublic,
    SlotUpdate,
)
from service.db import models as db
from service.deps import ALL_ROLES, CurrentUser, SessionDep, roles
from service.pagination import Page, PageDep

router = APIRouter(tags=["places"])
Role = db.Role
EDITORS = (Role.coordinator, Role.enterprise_manager)
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "below what the active placements hold or need; names them and who may end or move them"},
    412: {"description": "stale If-Match"},
    428: {"description": "If-Match missing"},
}
IfMatch = Annotated[str | None, Header(description="The ETag from the last read.")]


# --- enterprises -------------------------------------------------------------------------------------------------


@router.get("/enterprises", response_model=Page[EnterprisePublic], **roles(*ALL_ROLES))
def list_enterprises(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[EnterprisePublic]:
    items, total = service.list_enterprises(session, user, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/enterprises", status_code=201, response_model=EnterprisePublic, **roles(Role.coordinator))
def create_enterprise(body: EnterpriseCreate, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    return service.create_enterprise(session, user, body)


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*ALL_ROLES))
def get_enterprise(enterprise_id: str, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    return service.get_enterprise(session, user, enterprise_id)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*EDITORS))
def update_enterprise(
    enterprise_id: str, body: EnterpriseUpdate, session: SessionDep, user: CurrentUser
) -> db.Enterprise:
    return service.update_enterprise(session, user, enterprise_id, body)


@router.delete("/enterprises/{enterprise_id}", status_code=204, **roles(Role.coordinator))
def delete_enterprise(enterprise_id: str, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_enterprise(session, user, enterprise_id)
    return Response(status_code=204)


# --- sites -------------------------------------------------------------------------------------------------------


@router.get("/sites", response_model=Page[SitePublic], **roles(*ALL_ROLES))
def list_sites(
    session: SessionDep, user: CurrentUser, page: PageDep, enterprise_id: Annotated[str | None, Query()] = None
) -> Page[SitePublic]:
    items, total = service.list_sites(session, user, page, enterprise_id)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/sites", status_code=201, response_model=SitePublic, **roles(*EDITORS))
def create_site(body: SiteCreate, session: SessionDep, user: CurrentUser, response: Response) -> db.Site:
    site = service.create_site(session, user, body)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.get("/sites/{site_id}", response_model=SitePublic, **roles(*ALL_ROLES))
def get_site(site_id: str, session: SessionDep, user: CurrentUser, response: Response) -> db.Site:
    site = service.get_site(session, user, site_id)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.patch("/sites/{site_id}", response_model=SitePublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_site(
    site_id: str, body: SiteUpdate, session: SessionDep, user: CurrentUser, response: Response, if_match: IfMatch = None
) -> db.Site:
    site = service.update_site(session, user, site_id, body, if_match)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.delete("/sites/{site_id}", status_code=204, **roles(*EDITORS))
def delete_site(site_id: str, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_site(session, user, site_id)
    return Response(status_code=204)


@router.get("/sites/{site_id}/history", response_model=list[CapacityChangePublic], **roles(*EDITORS))
def site_history(site_id: str, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return service.site_history(session, user, site_id)


# --- slots -------------------------------------------------------------------------------------------------------


def _public(slot: db.Slot, taken: int) -> SlotPublic:
    return SlotPublic.model_validate(
        {**{c: getattr(slot, c) for c in SlotPublic.model_fields if c != "taken"}, "taken": taken}
    )


@router.get("/slots", response_model=Page[SlotPublic], **roles(*ALL_ROLES))
def list_slots(
    session: SessionDep, user: CurrentUser, page: PageDep, site_id: Annotated[str | None, Query()] = None
) -> Page[SlotPublic]:
    items, total = service.list_slots(session, user, page, site_id)
    return Page(items=[_public(s, taken) for s, taken in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/slots", status_code=201, response_model=SlotPublic, **roles(*EDITORS))
def create_slot(body: SlotCreate, session: SessionDep, user: CurrentUser, response: Response) -> SlotPublic:
    slot = service.create_slot(session, user, body)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, 0)


@router.get("/slots/{slot_id}", response_model=SlotPublic, **roles(*ALL_ROLES))
def get_slot(slot_id: str, session: SessionDep, user: CurrentUser, response: Response) -> SlotPublic:
    slot, taken = service.get_slot(session, user, slot_id)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, taken)


@router.patch("/slots/{slot_id}", response_model=SlotPublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_slot(
    slot_id: str, body: SlotUpdate, session: SessionDep, user: CurrentUser, response: Response, if_match: IfMatch = None
) -> SlotPublic:
    slot, taken = service.update_slot(session, user, slot_id, body, if_match)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, taken)


@router.delete("/slots/{slot_id}", status_code=204, **roles(*EDITORS))
def delete_slot(slot_id: str, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_slot(session, user, slot_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/slots/{slot_id}/history",
    response_model=list[CapacityChangePublic],
    **roles(Role.coordinator, Role.enterprise_manager),
)
def slot_history(slot_id: str, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return service.slot_history(session, user, slot_id)
