"""Endpoints for enterprises, sites and slots. Site and slot changes need `If-Match` and are kept in a history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from matcher import SUPERVISION_TOLERANCE
from service.access import visible_enterprise, visible_site, visible_slot
from service.catalogue import capacity
from service.catalogue import repository as repo
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
    check_slot_ranges,
)
from service.db import models as db
from service.deps import ALL_ROLES, CurrentUser, SessionDep, roles
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.pagination import Page, PageDep, fetch_page

router = APIRouter(tags=["places"])
Role = db.Role
EDITORS = (Role.coordinator, Role.enterprise_manager)
SLOT_FIELDS_ON_CREATE = ("seats", "min_hours", "max_hours", "days")
SITE_FIELDS_ON_CREATE = ("supervisor_hours",)
CHANGE_RESPONSES = {
    409: {"description": "below what the active placements hold or need; names them and who may end or move them"},
    412: {"description": "stale If-Match"},
    428: {"description": "If-Match missing"},
}
IfMatch = Annotated[str | None, Header(description="The ETag from the last read.")]


def _may_edit(user: db.User, enterprise_id: str) -> None:
    if user.role is Role.enterprise_manager and user.enterprise_id != enterprise_id:
        raise Forbidden("an enterprise manager may change only their own enterprise")


# --- enterprises -------------------------------------------------------------------------------------------------


@router.get("/enterprises", response_model=Page[EnterprisePublic], **roles(*ALL_ROLES))
def list_enterprises(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[EnterprisePublic]:
    items, total = fetch_page(session, repo.enterprises_query(user), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/enterprises", status_code=201, response_model=EnterprisePublic, **roles(Role.coordinator))
def create_enterprise(body: EnterpriseCreate, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    if session.get(db.Enterprise, body.id) is not None:
        raise Conflict(f"enterprise '{body.id}' exists already")
    enterprise = db.Enterprise(association_id=user.association_id, **body.model_dump())
    session.add(enterprise)
    session.flush()
    return enterprise


@router.get("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*ALL_ROLES))
def get_enterprise(enterprise_id: str, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    return visible_enterprise(session, user, enterprise_id)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterprisePublic, **roles(*EDITORS))
def update_enterprise(enterprise_id: str, body: EnterpriseUpdate, session: SessionDep, user: CurrentUser) -> db.Enterprise:
    enterprise = visible_enterprise(session, user, enterprise_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{field} cannot be null")
        setattr(enterprise, field, value)
    return enterprise


@router.delete("/enterprises/{enterprise_id}", status_code=204, **roles(Role.coordinator))
def delete_enterprise(enterprise_id: str, session: SessionDep, user: CurrentUser) -> Response:
    enterprise = visible_enterprise(session, user, enterprise_id)
    if repo.has_dependents(session, db.Site, db.Site.enterprise_id, enterprise_id):
        raise Conflict(f"enterprise '{enterprise_id}' still has sites; delete them first")
    if repo.has_dependents(session, db.User, db.User.enterprise_id, enterprise_id):
        raise Conflict(f"enterprise '{enterprise_id}' still has manager accounts; revoke and remove them first")
    session.delete(enterprise)
    return Response(status_code=204)


# --- sites -------------------------------------------------------------------------------------------------------


@router.get("/sites", response_model=Page[SitePublic], **roles(*ALL_ROLES))
def list_sites(
    session: SessionDep, user: CurrentUser, page: PageDep, enterprise_id: Annotated[str | None, Query()] = None
) -> Page[SitePublic]:
    items, total = fetch_page(session, repo.sites_query(user, enterprise_id), page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/sites", status_code=201, response_model=SitePublic, **roles(*EDITORS))
def create_site(body: SiteCreate, session: SessionDep, user: CurrentUser, response: Response) -> db.Site:
    visible_enterprise(session, user, body.enterprise_id)
    _may_edit(user, body.enterprise_id)
    if session.get(db.Site, body.id) is not None:
        raise Conflict(f"site '{body.id}' exists already")
    site = db.Site(**body.model_dump())
    session.add(site)
    session.flush()
    capacity.record_created(session, user, site, SITE_FIELDS_ON_CREATE)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.get("/sites/{site_id}", response_model=SitePublic, **roles(*ALL_ROLES))
def get_site(site_id: str, session: SessionDep, user: CurrentUser, response: Response) -> db.Site:
    site = visible_site(session, user, site_id)
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.patch("/sites/{site_id}", response_model=SitePublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_site(
    site_id: str, body: SiteUpdate, session: SessionDep, user: CurrentUser, response: Response, if_match: IfMatch = None
) -> db.Site:
    visible = visible_site(session, user, site_id)
    _may_edit(user, visible.enterprise_id)
    expected = capacity.require_if_match(if_match)
    # The same lock a placement takes before it counts the site's supervision, so none slips in meanwhile.
    site = repo.lock_site(session, site_id)
    if site is None:  # deleted since it was read a moment ago
        raise NotFound(f"no site '{site_id}'")
    capacity.check_if_match(expected, site)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field != "supervisor_hours":
            raise InvalidInput(f"{field} cannot be null", field=field)
    hours = changes.get("supervisor_hours", site.supervisor_hours)
    if "supervisor_hours" in changes and hours is not None:
        need, placement_ids = capacity.supervision_need(session, site.id)
        if need > hours + SUPERVISION_TOLERANCE:
            raise capacity.refuse_hours_below_need(session, user, site, hours, need, placement_ids)
    capacity.apply_changes(session, user, site, changes)
    session.flush()
    response.headers["ETag"] = capacity.etag(site)
    return site


@router.delete("/sites/{site_id}", status_code=204, **roles(*EDITORS))
def delete_site(site_id: str, session: SessionDep, user: CurrentUser) -> Response:
    site = visible_site(session, user, site_id)
    _may_edit(user, site.enterprise_id)
    if repo.has_dependents(session, db.Slot, db.Slot.site_id, site_id):
        raise Conflict(f"site '{site_id}' still has slots; delete them first")
    session.delete(site)
    return Response(status_code=204)


@router.get("/sites/{site_id}/history", response_model=list[CapacityChangePublic], **roles(*EDITORS))
def site_history(site_id: str, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return capacity.history(session, visible_site(session, user, site_id))


# --- slots -------------------------------------------------------------------------------------------------------


def _public(slot: db.Slot, taken: int) -> SlotPublic:
    return SlotPublic.model_validate({**{c: getattr(slot, c) for c in SlotPublic.model_fields if c != "taken"}, "taken": taken})


@router.get("/slots", response_model=Page[SlotPublic], **roles(*ALL_ROLES))
def list_slots(
    session: SessionDep, user: CurrentUser, page: PageDep, site_id: Annotated[str | None, Query()] = None
) -> Page[SlotPublic]:
    items, total = fetch_page(session, repo.slots_query(user, site_id), page)
    taken = repo.taken_seats(session, [s.id for s in items])
    return Page(items=[_public(s, taken.get(s.id, 0)) for s in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/slots", status_code=201, response_model=SlotPublic, **roles(*EDITORS))
def create_slot(body: SlotCreate, session: SessionDep, user: CurrentUser, response: Response) -> SlotPublic:
    site = visible_site(session, user, body.site_id)
    _may_edit(user, site.enterprise_id)
    if session.get(db.Slot, body.id) is not None:
        raise Conflict(f"slot '{body.id}' exists already")
    slot = db.Slot(**body.model_dump())
    session.add(slot)
    session.flush()
    capacity.record_created(session, user, slot, SLOT_FIELDS_ON_CREATE)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, 0)


@router.get("/slots/{slot_id}", response_model=SlotPublic, **roles(*ALL_ROLES))
def get_slot(slot_id: str, session: SessionDep, user: CurrentUser, response: Response) -> SlotPublic:
    slot = visible_slot(session, user, slot_id)
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, repo.taken_seats(session, [slot.id]).get(slot.id, 0))


@router.patch("/slots/{slot_id}", response_model=SlotPublic, responses=CHANGE_RESPONSES, **roles(*EDITORS))
def update_slot(
    slot_id: str, body: SlotUpdate, session: SessionDep, user: CurrentUser, response: Response, if_match: IfMatch = None
) -> SlotPublic:
    visible = visible_slot(session, user, slot_id)
    _may_edit(user, visible.site.enterprise_id)
    expected = capacity.require_if_match(if_match)
    changes = body.model_dump(exclude_unset=True)
    # A ratio change moves the site's supervision need: take the site's lock first, as a placement does.
    site = repo.lock_site(session, visible.site_id) if changes.get("supervision_ratio") is not None else None
    slot = repo.lock_slot(session, slot_id)
    if slot is None:  # deleted since it was read a moment ago
        raise NotFound(f"no slot '{slot_id}'")
    capacity.check_if_match(expected, slot)
    for field in ("activity", "seats", "min_hours", "max_hours", "days", "supports", "programmes", "women_only", "supervision_ratio"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null")
    merged = {c: changes.get(c, getattr(slot, c)) for c in ("min_hours", "max_hours", "min_age", "max_age", "available_from", "available_to")}
    try:
        check_slot_ranges(**merged)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    taken_ids = repo.active_placement_ids(session, slot_id)
    if "seats" in changes and changes["seats"] < len(taken_ids):
        raise capacity.refuse_seats_below_taken(session, user, slot, changes["seats"], taken_ids)
    if site is not None and site.supervisor_hours is not None and changes["supervision_ratio"] > slot.supervision_ratio:
        ratio = changes["supervision_ratio"]
        need, placement_ids = capacity.supervision_need(session, site.id, ratio_of={slot.id: ratio})
        if need > site.supervisor_hours + SUPERVISION_TOLERANCE:
            raise capacity.refuse_ratio_above_supervision(session, user, slot, site, ratio, need, placement_ids)
    capacity.apply_changes(session, user, slot, changes)
    session.flush()
    response.headers["ETag"] = capacity.etag(slot)
    return _public(slot, len(taken_ids))


@router.delete("/slots/{slot_id}", status_code=204, **roles(*EDITORS))
def delete_slot(slot_id: str, session: SessionDep, user: CurrentUser) -> Response:
    slot = visible_slot(session, user, slot_id)
    _may_edit(user, slot.site.enterprise_id)
    if repo.has_dependents(session, db.Placement, db.Placement.slot_id, slot_id):
        raise Conflict(f"slot '{slot_id}' has placements (active or ended, kept for follow-up); it cannot be deleted")
    session.delete(slot)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/slots/{slot_id}/history", response_model=list[CapacityChangePublic], **roles(Role.coordinator, Role.enterprise_manager))
def slot_history(slot_id: str, session: SessionDep, user: CurrentUser) -> list[db.CapacityChange]:
    return capacity.history(session, visible_slot(session, user, slot_id))
