"""Dated capacity changes ("two more seats in the sewing room from March"): saved as dated versions of a slot or
site, checked against conflicting ones, and previewed with two solves of the plan on their date.

Nothing is applied when the date arrives: the capacity in force on a date is always computed (`in_force`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

import matcher
from matcher import SUPERVISION
from service.access import visible_site, visible_slot
from service.catalogue import capacity, fit, in_force
from service.catalogue import repository as repo
from service.catalogue.schemas import (
    ScheduledChangePreview,
    ScheduledSiteChangeCreate,
    ScheduledSlotChangeCreate,
    check_slot_ranges,
)
from service.core_bridge import load_instance
from service.db import models as db
from service.errors import Conflict, Forbidden, InvalidInput, NotFound

Target = db.Slot | db.Site
Body = ScheduledSlotChangeCreate | ScheduledSiteChangeCreate
PREVIEW_TIME_LIMIT_S = 5.0  # a preview answers while the manager waits; two solves of this length at most


def today() -> date:
    return date.today()


def _enterprise_of(target: Target) -> str:
    return target.site.enterprise_id if isinstance(target, db.Slot) else target.enterprise_id


def _may_edit(user: db.User, target: Target) -> None:
    if user.role is db.Role.enterprise_manager and user.enterprise_id != _enterprise_of(target):
        raise Forbidden("an enterprise manager may change only their own enterprise")


def _visible(session: Session, user: db.User, kind: str, target_id: str) -> Target:
    return visible_slot(session, user, target_id) if kind == "slot" else visible_site(session, user, target_id)


def _lock(session: Session, association_id: str, kind: str, target_id: str) -> Target:
    lock = repo.lock_slot if kind == "slot" else repo.lock_site
    locked = lock(session, association_id, target_id)
    if locked is None:  # deleted since it was read a moment ago
        raise NotFound(f"no {kind} '{target_id}'")
    return locked


def _fields(body: Body) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True, exclude={"effective_from"})
    if not fields:
        raise InvalidInput("send at least one field to change besides effective_from")
    for field in ("seats", "min_hours", "max_hours", "days", "seats_delta", "supervisor_hours_delta"):
        if field in fields and fields[field] is None:
            raise InvalidInput(f"{field} cannot be null", field=field)
    for field in in_force.RELATIVE_FIELDS:
        if field in fields and field + in_force.DELTA in fields:
            raise InvalidInput(f"send {field} or {field}{in_force.DELTA}, not both", field=field + in_force.DELTA)
    return fields


def _resolved(
    session: Session, target: Target, on: date, fields: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed fields in force on `on` without the change and with it (a relative change resolved)."""
    before = in_force.in_force(session, target, on)
    after = in_force.apply_fields(before, fields)
    names = sorted({in_force.field_of(name) for name in fields})
    return {n: before[n] for n in names}, {n: after[n] for n in names}


def _check(session: Session, target: Target, effective_from: date, fields: dict[str, Any]) -> None:
    """The date is tomorrow or later, and the capacity in force on it with this change is consistent."""
    if effective_from <= today():
        raise InvalidInput(
            f"effective_from ({effective_from}) must be tomorrow ({today() + timedelta(days=1)}) or later; "
            "change today's capacity with PATCH",
            field="effective_from",
        )
    in_force_now = in_force.in_force(session, target, effective_from)
    for name, delta in fields.items():
        if not name.endswith(in_force.DELTA):
            continue
        base = in_force.field_of(name)
        if in_force_now[base] is None:
            raise InvalidInput(
                f"{base} has no limit on {effective_from}, so there is nothing to add {delta:g} to; send {base}",
                field=name,
            )
        if in_force_now[base] + delta < 0:
            raise InvalidInput(
                f"{name} {delta:g} would leave {in_force_now[base] + delta:g} {base} on {effective_from} "
                f"({in_force_now[base]:g} in force then)",
                field=name,
            )
    if isinstance(target, db.Slot):
        merged = in_force.apply_fields(in_force_now, fields)
        try:
            check_slot_ranges(
                merged["min_hours"], merged["max_hours"], None, None, merged["available_from"], merged["available_to"]
            )
        except ValueError as exc:
            raise InvalidInput(f"on {effective_from}: {exc}") from None


def _conflicting(
    session: Session, target: Target, effective_from: date, fields: dict[str, Any]
) -> db.ScheduledCapacityChange | None:
    key = {"slot_ids": [target.id]} if isinstance(target, db.Slot) else {"site_ids": [target.id]}
    for change in in_force.scheduled_changes(session, target.association_id, **key).get(target.id, []):  # type: ignore[arg-type]
        if change.effective_from == effective_from and _names(change.fields) & _names(fields):
            return change
    return None


def _names(fields: dict[str, Any]) -> set[str]:
    """The fields a change sets (`seats` for `seats_delta` too: an absolute and a relative change of one field on
    one date conflict, as two absolute ones do)."""
    return {in_force.field_of(name) for name in fields}


def create(
    session: Session,
    user: db.User,
    kind: str,
    target_id: str,
    body: Body,
    if_match: str | None,
    preview: bool,
    force: bool = False,
) -> db.ScheduledCapacityChange | ScheduledChangePreview:
    """Save a dated change (or only preview it). 412 if the slot/site changed since the caller read it, 409 if
    another dated change sets one of the same fields on the same date (it is named; nothing is replaced), and 409
    if on its date the slot's active placements would break a rule of a feasible pair, unless `force` (then each
    broken rule is a warning on the placement, from that date, deleted with the change)."""
    visible = _visible(session, user, kind, target_id)
    _may_edit(user, visible)
    expected = capacity.require_if_match(if_match)
    fields = _fields(body)
    # The lock serialises two managers scheduling for the same slot: the second sees the first's change below.
    target = _lock(session, user.association_id, kind, target_id)
    capacity.check_if_match(expected, target)
    _check(session, target, body.effective_from, fields)
    existing = _conflicting(session, target, body.effective_from, fields)
    if existing is not None:
        same = sorted(_names(existing.fields) & _names(fields))
        raise Conflict(
            f"{kind} '{target.id}' already has scheduled change {existing.id} from {existing.effective_from} setting "
            f"{', '.join(same)}; delete it first (DELETE /{kind}s/{target.id}/scheduled-changes/{existing.id}) or "
            "choose another date",
            existing_change_id=existing.id,
            fields=same,
        )
    if preview:
        return preview_change(session, user, target, body.effective_from, fields)
    broken: list[fit.Broken] = []
    if isinstance(target, db.Slot):
        on = body.effective_from
        broken = fit.broken_placements(session, target, fields, on, before=in_force.in_force(session, target, on))
        if broken and not force:
            raise fit.refusal(
                user,
                f"from {on.isoformat()}, the change of slot '{target.id}'",
                broken,
                f"send POST /slots/{target.id}/scheduled-changes?force=true",
            )
    change = db.ScheduledCapacityChange(
        association_id=target.association_id,
        effective_from=body.effective_from,
        fields=in_force.encode(fields),
        created_by=user.id,
        base_version=target.version,
        status=in_force.SCHEDULED,
        **({"slot_id": target.id} if kind == "slot" else {"site_id": target.id}),
    )
    repo.add(session, change)
    if broken:
        fit.record_warnings(session, user, target.id, broken, "scheduled", change.id, body.effective_from)
    return change


def list_changes(session: Session, user: db.User, kind: str, target_id: str) -> list[db.ScheduledCapacityChange]:
    target = _visible(session, user, kind, target_id)
    key = {"slot_ids": [target.id]} if kind == "slot" else {"site_ids": [target.id]}
    return in_force.scheduled_changes(session, target.association_id, **key).get(target.id, [])  # type: ignore[arg-type]


def delete(session: Session, user: db.User, kind: str, target_id: str, change_id: int) -> None:
    target = _visible(session, user, kind, target_id)
    _may_edit(user, target)
    change = repo.scheduled_change(session, change_id)
    if (
        change is None
        or change.association_id != target.association_id
        or (change.slot_id if kind == "slot" else change.site_id) != target.id
    ):
        raise NotFound(f"no scheduled change {change_id} for {kind} '{target_id}'")
    repo.delete(session, change)


def on_date(session: Session, user: db.User, kind: str, target_id: str, on: date) -> dict[str, Any]:
    """The dated fields of a visible slot or site in force on `on`."""
    return in_force.in_force(session, _visible(session, user, kind, target_id), on)


# --- preview ------------------------------------------------------------------------------------------------------


def _lowers(session: Session, target: Target, after: dict[str, Any], holders: list[tuple[int, str, str]]) -> bool:
    if isinstance(target, db.Slot):
        return "seats" in after and after["seats"] < len(holders)
    if "supervisor_hours" not in after or after["supervisor_hours"] is None:
        return False
    need, _ = capacity.supervision_need(session, target.association_id, target.id)
    return not SUPERVISION.fits(0.0, need, after["supervisor_hours"])


def _with_change(
    instance: matcher.Instance, target: Target, fields: dict[str, Any], unpin: set[str]
) -> matcher.Instance:
    """`instance` with the slot's or site's fields as `fields` (absolute values) and `unpin` free to move."""
    values = in_force.decode(in_force.encode(fields))
    if "days" in values:
        values["days"] = frozenset(values["days"])
    if isinstance(target, db.Slot):
        slots = tuple(replace(s, **values) if s.slot_id == target.id else s for s in instance.slots)
        instance = replace(instance, slots=slots)
    else:
        sites = tuple(replace(s, **values) if s.site_id == target.id else s for s in instance.sites)
        instance = replace(instance, sites=sites)
    people = tuple(replace(p, pinned=False) if p.participant_id in unpin else p for p in instance.participants)
    return replace(instance, participants=people)


def _solve(instance: matcher.Instance, on: date) -> matcher.Plan:
    try:
        return matcher.solve(instance, on, settings=matcher.SolverSettings(time_limit_s=PREVIEW_TIME_LIMIT_S))
    except matcher.InvalidDataset as invalid:
        reasons = "; ".join(f"{p.column}: {p.message}" for p in invalid.problems[:5])
        raise Conflict(f"the plan on that date cannot be made, so there is nothing to compare: {reasons}") from None


def preview_change(
    session: Session, user: db.User, target: Target, on: date, fields: dict[str, Any]
) -> ScheduledChangePreview:
    """The plan on `on` (every active placement kept, as a plan without allow_moves) without and with the change.
    For a lowering, the holders in the slot (or the site's slots) are not kept, so the plan picks who stays; those
    it does not keep where they are certainly lose that place. Waiting people one optimal plan places and the other
    does not are counted apart: an equally good plan might place them, so the change takes nothing from them."""
    association_id = user.association_id
    before_instance = load_instance(session, association_id, keep_active=True, on=on)
    was, will_be = _resolved(session, target, on, fields)
    slot_ids = [target.id] if isinstance(target, db.Slot) else repo.site_slot_ids(session, association_id, target.id)
    holders = repo.active_holders(session, association_id, slot_ids)
    lowers = _lowers(session, target, will_be, holders)
    unpin = {participant for _, participant, _ in holders} if lowers else set()
    after_instance = _with_change(before_instance, target, will_be, unpin)
    before, after = _solve(before_instance, on), _solve(after_instance, on)
    placed_before = {r.participant_id for r in before.rows if r.placed}
    after_slot = {r.participant_id: r.slot_id for r in after.rows}
    placed_after = {p for p, s in after_slot.items() if s is not None}
    moved = [(pid, who) for pid, who, slot in holders if after_slot.get(who) != slot] if lowers else []
    certain = sorted(who for _, who in moved)
    gain = sorted(placed_after - placed_before)
    elsewhere = sorted(placed_before - placed_after - set(certain))
    need = None
    over_by = 0
    if isinstance(target, db.Slot):
        over_by = max(0, len(holders) - will_be["seats"]) if "seats" in will_be else 0
    else:
        need = round(capacity.supervision_need(session, association_id, target.id)[0], 6)
    coordinator = user.role is db.Role.coordinator
    return ScheduledChangePreview(
        effective_from=on,
        fields=in_force.encode(fields),
        in_force_before=in_force.encode(was),
        in_force_after=in_force.encode(will_be),
        placed_before=before.placed,
        placed_after=after.placed,
        would_gain_a_place=len(gain),
        certainly_lose_a_place=len(certain),
        placed_only_without_change=len(elsewhere),
        gain_participant_ids=gain if coordinator else None,
        certainly_lose_participant_ids=certain if coordinator else None,
        placed_only_without_change_ids=elsewhere if coordinator else None,
        active_placements=[pid for pid, _, _ in holders],
        over_by=over_by,
        supervisor_hours_needed=need,
        would_have_to_move_or_end=[pid for pid, _ in moved],
        solve_status=f"{before.status.value}/{after.status.value}",
    )
