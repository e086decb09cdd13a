"""Whether a slot's active placements still fit it after a change of the slot (PATCH, an import, a scheduled change).

A placement is a fact; a change of the slot that makes one of its active placements break a rule of a feasible pair
(docs/data-format.md, rules 1–9: `hours_fit`, `days_overlap`, `needs_covered`, `programme_ok`, `age_ok`,
`gender_ok`, `date_ok`, and `travel_ok`/`not_avoided` when an import moves the slot to another site) is refused with a
409 naming each placement and the rules it would break, unless the caller sends `force`: then the change is made and
each broken rule is kept as a warning on the placement (`placement_warnings`), shown to the coordinator.

Only the rules the change itself breaks count: a rule the placement broke already before the change (a pinned pair
kept despite a rule, a participant whose hours changed since) neither blocks the change nor becomes a warning.
Seats and supervision are not checked here: those are refused outright (`capacity`), never forced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

import matcher
from service.catalogue import repository as repo
from service.core_bridge import to_core_participant, to_core_site, to_core_slot
from service.db import models as db
from service.errors import Conflict

PAIR_FIELDS = (
    "site_id", "min_hours", "max_hours", "days", "supports", "programmes", "min_age", "max_age", "women_only",
    "available_from", "available_to",
)  # fmt: skip
"""The slot fields a feasible pair depends on (seats and supervision_ratio are the capacity rules')."""
SET_FIELDS = frozenset({"days", "supports", "programmes"})
SITE_PAIR_FIELDS = ("accessibility", "lat", "lon", "enterprise_id")
"""The site fields a feasible pair depends on: needs_covered, travel_ok (the estimate), not_avoided."""
SOURCES = ("slot_change", "import", "scheduled")


@dataclass(frozen=True)
class Broken:
    """An active placement and the rules a change of its slot makes it break."""

    placement_id: int
    participant_id: str
    failures: tuple[matcher.RuleFailure, ...]


def touches_pairs(slot: db.Slot, values: dict[str, Any]) -> bool:
    return any(f in values and values[f] != getattr(slot, f) for f in PAIR_FIELDS)


def site_with(site: db.Site, values: dict[str, Any]) -> matcher.Site:
    """The site as the core sees it with `values` (field -> new value) set."""
    changes: dict[str, Any] = {f: values[f] for f in SITE_PAIR_FIELDS if f in values}
    if "accessibility" in changes:
        changes["accessibility"] = frozenset(changes["accessibility"])
    return replace(to_core_site(site), **changes)


def _core_slot(base: matcher.Slot, values: dict[str, Any]) -> matcher.Slot:
    changes: dict[str, Any] = {
        f: (frozenset(values[f]) if f in SET_FIELDS else values[f]) for f in PAIR_FIELDS if f in values
    }
    return replace(base, **changes)


def _enterprise(session: Session, association_id: str, enterprise_id: str) -> matcher.Enterprise:
    row = session.get(db.Enterprise, (association_id, enterprise_id))
    if row is None:  # created by the same import: its name is not needed by any rule but `not_avoided`'s message
        return matcher.Enterprise(enterprise_id, enterprise_id, "")
    return matcher.Enterprise(row.id, row.name, row.municipality)


def _site(session: Session, association_id: str, site_id: str, given: matcher.Site | None) -> matcher.Site | None:
    if given is not None and given.site_id == site_id:
        return given
    row = session.get(db.Site, (association_id, site_id))
    return to_core_site(row) if row is not None else None


def _failures(
    session: Session,
    person: db.Participant,
    slot: matcher.Slot,
    site: matcher.Site,
    minutes: int | None,
    on: date,
) -> list[matcher.RuleFailure]:
    pair = matcher.Instance(
        enterprises=(_enterprise(session, person.association_id, site.enterprise_id),),
        sites=(site,),
        slots=(slot,),
        participants=(to_core_participant(person, None),),
        travel_times=(matcher.TravelTime(person.id, site.site_id, minutes),) if minutes is not None else (),
    )
    return matcher.pair_failures(pair, person.id, slot.slot_id, on)


def broken_placements(
    session: Session,
    slot: db.Slot,
    after: dict[str, Any],
    on: date,
    before: dict[str, Any] | None = None,
    site: matcher.Site | None = None,
) -> list[Broken]:
    """The slot's active placements that `after` (field -> new value, over the slot's current values) makes break a
    rule on date `on` that they keep with `before` (default: the slot as it is). `site`: the slot's site as the
    caller will leave it (an import changing the site too), else the database's."""
    base = _core_slot(to_core_slot(slot), before or {})
    old_slot, new_slot = base, _core_slot(base, after)
    if old_slot == new_slot and site is None:
        return []
    holders = repo.holders_with_people(session, slot.association_id, slot.id)
    if not holders:
        return []
    old_site = _site(session, slot.association_id, old_slot.site_id, None)
    new_site = _site(session, slot.association_id, new_slot.site_id, site)
    if old_site is None or new_site is None:
        return []  # a site not stored yet and not given: nothing to compare with
    people = [person.id for _, person in holders]
    old_minutes = repo.travel_minutes(session, slot.association_id, people, old_site.site_id)
    moved = new_site.site_id != old_site.site_id
    new_minutes = repo.travel_minutes(session, slot.association_id, people, new_site.site_id) if moved else old_minutes
    broken = []
    for placement, person in holders:
        kept = {f.rule for f in _failures(session, person, old_slot, old_site, old_minutes.get(person.id), on)}
        now = _failures(session, person, new_slot, new_site, new_minutes.get(person.id), on)
        new = tuple(f for f in now if f.rule not in kept)
        if new:
            broken.append(Broken(placement.id, person.id, new))
    return broken


def describe(broken: list[Broken], with_messages: bool) -> str:
    """`placement 12 (hours_fit: 10 h/week is outside the slot's 15–20 h), placement 13 (days_overlap)`."""

    def one(b: Broken) -> str:
        rules = "; ".join(f"{f.rule}: {f.message}" if with_messages else f.rule for f in b.failures)
        return f"placement {b.placement_id} ({rules})"

    return ", ".join(one(b) for b in broken)


def public(broken: list[Broken], with_messages: bool) -> list[dict[str, Any]]:
    """The placements and their rules for a problem body; never a participant id (a manager reads it too)."""
    return [
        {
            "placement_id": b.placement_id,
            "rules": [{"rule": f.rule, **({"message": f.message} if with_messages else {})} for f in b.failures],
        }
        for b in broken
    ]


def refusal(user: db.User, what: str, broken: list[Broken], force_hint: str) -> Conflict:
    """The 409: the placements, the rule each would break, and how to accept it anyway."""
    coordinator = user.role is db.Role.coordinator
    return Conflict(
        f"{what} would make active placements break rules of a feasible pair: {describe(broken, coordinator)}. "
        f"End or move those placements first, or {force_hint} to make the change and record the conflicts as "
        "warnings on those placements",
        reason="placements_break_rules",
        placements=public(broken, coordinator),
    )


def record_warnings(
    session: Session,
    user: db.User | None,
    slot_id: str,
    broken: list[Broken],
    source: str,
    scheduled_change_id: int | None = None,
    effective_from: date | None = None,
) -> None:
    """One warning per broken rule of each placement (a rule already warned of from the same source is not
    repeated)."""
    assert source in SOURCES, source
    existing = {
        (w.placement_id, w.rule, w.scheduled_change_id)
        for w in repo.warnings_of(session, [b.placement_id for b in broken])
    }
    rows = [
        db.PlacementWarning(
            placement_id=b.placement_id,
            slot_id=slot_id,
            rule=f.rule,
            message=f.message,
            source=source,
            scheduled_change_id=scheduled_change_id,
            effective_from=effective_from,
            created_by=user.id if user is not None else None,
        )
        for b in broken
        for f in b.failures
        if (b.placement_id, f.rule, scheduled_change_id) not in existing
    ]
    repo.add_all(session, rows)


def clear_resolved(session: Session, slot: db.Slot, on: date) -> None:
    """Drop the warnings (not a scheduled change's) of the slot's active placements whose rule holds again now."""
    holders = repo.holders_with_people(session, slot.association_id, slot.id)
    warnings = [w for w in repo.warnings_of(session, [p.id for p, _ in holders]) if w.scheduled_change_id is None]
    if not warnings:
        return
    site = to_core_site(slot.site)
    core = to_core_slot(slot)
    minutes = repo.travel_minutes(session, slot.association_id, [person.id for _, person in holders], site.site_id)
    failing = {
        placement.id: {f.rule for f in _failures(session, person, core, site, minutes.get(person.id), on)}
        for placement, person in holders
    }
    for warning in warnings:
        if warning.rule not in failing.get(warning.placement_id, set()):
            repo.delete(session, warning)
    repo.flush(session)
