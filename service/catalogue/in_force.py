"""The capacity in force on a date: today's values with every scheduled change effective on or before that date
applied in date order (then in the order they were entered). Always computed, never written back: when a change's
date arrives nothing needs to run, and a plan or a read for any date sees the same capacity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import models as db

SLOT_FIELDS = ("seats", "min_hours", "max_hours", "days", "available_from", "available_to")
SITE_FIELDS = ("supervisor_hours",)
DELTA = "_delta"  # `seats_delta: 2` in a change's fields: 2 more than whatever is in force on its date
RELATIVE_FIELDS = ("seats", "supervisor_hours")  # the fields a change may give relatively
DATE_FIELDS = frozenset({"available_from", "available_to"})
SCHEDULED = "scheduled"


def encode(fields: dict[str, Any]) -> dict[str, Any]:
    """The JSON a change keeps (dates as ISO text)."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()}


def decode(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (date.fromisoformat(v) if k in DATE_FIELDS and isinstance(v, str) else v) for k, v in fields.items()}


def scheduled_changes(
    session: Session,
    association_id: str,
    *,
    slot_ids: Iterable[str] = (),
    site_ids: Iterable[str] = (),
    on: date | None = None,
) -> dict[str, list[db.ScheduledCapacityChange]]:
    """slot or site id -> its scheduled changes (effective on or before `on` when given), in the order they apply."""
    slot_list, site_list = list(slot_ids), list(site_ids)
    if not slot_list and not site_list:
        return {}
    Change = db.ScheduledCapacityChange
    target = Change.slot_id.in_(slot_list) | Change.site_id.in_(site_list)
    query = (
        select(Change)
        .where(Change.association_id == association_id, target, Change.status == SCHEDULED)
        .order_by(Change.effective_from, Change.id)
    )
    if on is not None:
        query = query.where(Change.effective_from <= on)
    found: dict[str, list[db.ScheduledCapacityChange]] = defaultdict(list)
    for change in session.scalars(query):
        found[change.slot_id or change.site_id or ""].append(change)
    return dict(found)


def field_of(name: str) -> str:
    """The field a change's key sets: `seats` for `seats` and for `seats_delta`."""
    return name.removesuffix(DELTA)


def apply_fields(values: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`values` with one change's fields: an absolute value replaces, a `<field>_delta` adds to what is in force
    (never below 0; a delta on supervisor hours with no limit leaves no limit)."""
    merged = dict(values)
    for name, value in decode(fields).items():
        if name.endswith(DELTA):
            base = field_of(name)
            if base in merged and merged[base] is not None:
                total = merged[base] + value
                merged[base] = max(round(total, 6) if isinstance(total, float) else total, 0)
        else:
            merged[name] = value
    return merged


def apply(values: dict[str, Any], changes: Iterable[db.ScheduledCapacityChange]) -> dict[str, Any]:
    """`values` with the changes' fields set (absolute) or added (relative), in the order given (callers pass them
    in date order, so a relative change adds to what the earlier ones left)."""
    merged = dict(values)
    for change in changes:
        merged = apply_fields(merged, change.fields)
    return merged


def current(target: db.Slot | db.Site) -> dict[str, Any]:
    fields = SLOT_FIELDS if isinstance(target, db.Slot) else SITE_FIELDS
    return {f: getattr(target, f) for f in fields}


def in_force(session: Session, target: db.Slot | db.Site, on: date) -> dict[str, Any]:
    """The slot's or site's dated fields in force on `on`."""
    key = {"slot_ids": [target.id]} if isinstance(target, db.Slot) else {"site_ids": [target.id]}
    changes = scheduled_changes(session, target.association_id, on=on, **key)
    return apply(current(target), changes.get(target.id, []))
