"""Enterprises, sites and slots: who may change what, the capacity rules, and the history (via `capacity`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from matcher import SUPERVISION
from service.access import visible_enterprise, visible_site, visible_slot
from service.catalogue import capacity, fit
from service.catalogue import repository as repo
from service.catalogue.schemas import (
    EnterpriseCreate,
    EnterpriseUpdate,
    SiteCreate,
    SiteUpdate,
    SlotCreate,
    SlotUpdate,
    check_slot_ranges,
)
from service.db import models as db
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.pagination import PageParams, fetch_page

Role = db.Role
SLOT_NOT_NULL = (
    "activity", "seats", "min_hours", "max_hours", "days", "supports", "programmes", "women_only", "supervision_ratio",
)  # fmt: skip


def today() -> date:
    return date.today()


SLOT_RANGES = ("min_hours", "max_hours", "min_age", "max_age", "available_from", "available_to")


def _may_edit(user: db.User, enterprise_id: str) -> None:
    if user.role is Role.enterprise_manager and user.enterprise_id != enterprise_id:
        raise Forbidden("an enterprise manager may change only their own enterprise")


# --- enterprises -------------------------------------------------------------------------------------------------


def list_enterprises(session: Session, user: db.User, page: PageParams) -> tuple[list[db.Enterprise], int]:
    return fetch_page(session, repo.enterprises_query(user), page)


def create_enterprise(session: Session, user: db.User, body: EnterpriseCreate) -> db.Enterprise:
    if repo.enterprise(session, user.association_id, body.id) is not None:
        raise Conflict(f"enterprise '{body.id}' exists already")
    enterprise = db.Enterprise(association_id=user.association_id, **body.model_dump())
    repo.add(session, enterprise)
    return enterprise


def get_enterprise(session: Session, user: db.User, enterprise_id: str) -> db.Enterprise:
    return visible_enterprise(session, user, enterprise_id)


def update_enterprise(session: Session, user: db.User, enterprise_id: str, body: EnterpriseUpdate) -> db.Enterprise:
    enterprise = visible_enterprise(session, user, enterprise_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{field} cannot be null")
        setattr(enterprise, field, value)
    return enterprise


def delete_enterprise(session: Session, user: db.User, enterprise_id: str) -> None:
    enterprise = visible_enterprise(session, user, enterprise_id)
    if repo.has_dependents(session, db.Site, user.association_id, db.Site.enterprise_id, enterprise_id):
        raise Conflict(f"enterprise '{enterprise_id}' still has sites; delete them first")
    if repo.has_dependents(session, db.User, user.association_id, db.User.enterprise_id, enterprise_id):
        raise Conflict(f"enterprise '{enterprise_id}' still has manager accounts; revoke and remove them first")
    repo.delete(session, enterprise)


# --- sites -------------------------------------------------------------------------------------------------------


def list_sites(
    session: Session, user: db.User, page: PageParams, enterprise_id: str | None
) -> tuple[list[db.Site], int]:
    return fetch_page(session, repo.sites_query(user, enterprise_id), page)


def create_site(session: Session, user: db.User, body: SiteCreate) -> db.Site:
    visible_enterprise(session, user, body.enterprise_id)
    _may_edit(user, body.enterprise_id)
    if repo.site(session, user.association_id, body.id) is not None:
        raise Conflict(f"site '{body.id}' exists already")
    site = db.Site(association_id=user.association_id, **body.model_dump())
    repo.add(session, site)
    capacity.record_created(session, user, site)
    return site


def get_site(session: Session, user: db.User, site_id: str) -> db.Site:
    return visible_site(session, user, site_id)


def update_site(
    session: Session, user: db.User, site_id: str, body: SiteUpdate, if_match: str | None, force: bool = False
) -> db.Site:
    visible = visible_site(session, user, site_id)
    _may_edit(user, visible.enterprise_id)
    expected = capacity.require_if_match(if_match)
    # The same lock a placement takes before it counts the site's supervision, so none slips in meanwhile.
    site = repo.lock_site(session, user.association_id, site_id)
    if site is None:  # deleted since it was read a moment ago
        raise NotFound(f"no site '{site_id}'")
    capacity.check_if_match(expected, site)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in body.nullable:
            raise InvalidInput(f"{field} cannot be null", field=field)
    hours = changes.get("supervisor_hours", site.supervisor_hours)
    if "supervisor_hours" in changes and hours is not None:
        need, placement_ids = capacity.supervision_need(session, site.association_id, site.id)
        if not SUPERVISION.fits(0.0, need, hours):
            raise capacity.refuse_hours_below_need(session, user, site, hours, need, placement_ids)
    # Accessibility, place (travel) and enterprise (avoided) are rules of a pair too: checked slot by slot.
    pair_fields = {f: v for f, v in changes.items() if f in fit.SITE_PAIR_FIELDS and v != getattr(site, f)}
    broken: list[tuple[db.Slot, list[fit.Broken]]] = []
    if pair_fields:
        moved = fit.site_with(site, pair_fields)
        for slot in site.slots:
            found = fit.broken_placements(session, slot, {}, today(), site=moved)
            if found:
                broken.append((slot, found))
    if broken and not force:
        everyone = [b for _, found in broken for b in found]
        raise fit.refusal(user, f"changing site '{site.id}'", everyone, f"send PATCH /sites/{site.id}?force=true")
    capacity.apply_changes(session, user, site, changes)
    repo.flush(session)
    for slot, found in broken:
        fit.record_warnings(session, user, slot.id, found, "slot_change")
    if pair_fields:
        for slot in site.slots:
            fit.clear_resolved(session, slot, today())
    return site


def delete_site(session: Session, user: db.User, site_id: str) -> None:
    site = visible_site(session, user, site_id)
    _may_edit(user, site.enterprise_id)
    if repo.has_dependents(session, db.Slot, user.association_id, db.Slot.site_id, site_id):
        raise Conflict(f"site '{site_id}' still has slots; delete them first")
    repo.delete(session, site)


def site_history(session: Session, user: db.User, site_id: str) -> list[db.CapacityChange]:
    return capacity.history(session, visible_site(session, user, site_id))


# --- slots -------------------------------------------------------------------------------------------------------


def list_slots(
    session: Session, user: db.User, page: PageParams, site_id: str | None
) -> tuple[list[tuple[db.Slot, int]], int]:
    """A page of slots, each with its seats taken by active placements, and the total."""
    items, total = fetch_page(session, repo.slots_query(user, site_id), page)
    taken = repo.taken_seats(session, user.association_id, [s.id for s in items])
    return [(s, taken.get(s.id, 0)) for s in items], total


def create_slot(session: Session, user: db.User, body: SlotCreate) -> db.Slot:
    site = visible_site(session, user, body.site_id)
    _may_edit(user, site.enterprise_id)
    if repo.slot(session, user.association_id, body.id) is not None:
        raise Conflict(f"slot '{body.id}' exists already")
    slot = db.Slot(association_id=user.association_id, **body.model_dump())
    repo.add(session, slot)
    capacity.record_created(session, user, slot)
    return slot


def get_slot(session: Session, user: db.User, slot_id: str) -> tuple[db.Slot, int]:
    """The slot and its seats taken."""
    slot = visible_slot(session, user, slot_id)
    return slot, repo.taken_seats(session, user.association_id, [slot.id]).get(slot.id, 0)


def update_slot(
    session: Session, user: db.User, slot_id: str, body: SlotUpdate, if_match: str | None, force: bool = False
) -> tuple[db.Slot, int]:
    """The changed slot and its seats taken; refused (409) below what its active placements hold or need, and when
    its active placements would break a rule of a feasible pair, unless `force` (then each is a warning; `fit`)."""
    visible = visible_slot(session, user, slot_id)
    _may_edit(user, visible.site.enterprise_id)
    expected = capacity.require_if_match(if_match)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    # A ratio change moves the site's supervision need: take the site's lock first, as a placement does.
    site = (
        repo.lock_site(session, user.association_id, visible.site_id)
        if changes.get("supervision_ratio") is not None
        else None
    )
    slot = repo.lock_slot(session, user.association_id, slot_id)
    if slot is None:  # deleted since it was read a moment ago
        raise NotFound(f"no slot '{slot_id}'")
    capacity.check_if_match(expected, slot)
    for field in SLOT_NOT_NULL:
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null")
    merged = {c: changes.get(c, getattr(slot, c)) for c in SLOT_RANGES}
    try:
        check_slot_ranges(**merged)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    taken_ids = repo.active_placement_ids(session, user.association_id, slot_id)
    if "seats" in changes and changes["seats"] < len(taken_ids):
        raise capacity.refuse_seats_below_taken(session, user, slot, changes["seats"], taken_ids)
    if site is not None and site.supervisor_hours is not None and changes["supervision_ratio"] > slot.supervision_ratio:
        ratio = changes["supervision_ratio"]
        need, placement_ids = capacity.supervision_need(
            session, site.association_id, site.id, ratio_of={slot.id: ratio}
        )
        if not SUPERVISION.fits(0.0, need, site.supervisor_hours):
            raise capacity.refuse_ratio_above_supervision(session, user, slot, site, ratio, need, placement_ids)
    touched = bool(taken_ids) and fit.touches_pairs(slot, changes)
    broken = fit.broken_placements(session, slot, changes, today()) if touched else []
    if broken and not force:
        raise fit.refusal(user, f"changing slot '{slot.id}'", broken, f"send PATCH /slots/{slot.id}?force=true")
    capacity.apply_changes(session, user, slot, changes)
    repo.flush(session)
    if broken:
        fit.record_warnings(session, user, slot.id, broken, "slot_change")
    if touched:
        fit.clear_resolved(session, slot, today())
    return slot, len(taken_ids)


def delete_slot(session: Session, user: db.User, slot_id: str) -> None:
    slot = visible_slot(session, user, slot_id)
    _may_edit(user, slot.site.enterprise_id)
    if repo.has_dependents(session, db.Placement, user.association_id, db.Placement.slot_id, slot_id):
        raise Conflict(f"slot '{slot_id}' has placements (active or ended, kept for follow-up); it cannot be deleted")
    repo.delete(session, slot)


def slot_history(session: Session, user: db.User, slot_id: str) -> list[db.CapacityChange]:
    return capacity.history(session, visible_slot(session, user, slot_id))
