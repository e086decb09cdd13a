"""Build the core's plain `Instance` from the database; the only place that knows both shapes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

import matcher
from service.catalogue import in_force
from service.db import models as db


def active_placements(session: Session, association_id: str) -> dict[str, db.Placement]:
    """participant_id -> the active placement, for one association."""
    query = select(db.Placement).where(db.Placement.end_date.is_(None), db.Placement.association_id == association_id)
    return {p.participant_id: p for p in session.scalars(query)}


def to_core_participant(
    row: db.Participant, current_slot_id: str | None, keep_seat: bool = False
) -> matcher.Participant:
    return matcher.Participant(
        participant_id=row.id,
        programme=row.programme,
        municipality=row.municipality,
        lat=row.lat,
        lon=row.lon,
        hours_per_week=row.hours_per_week,
        days_available=frozenset(row.days_available),
        max_travel_minutes=row.max_travel_minutes,
        age=row.age,
        gender=row.gender,
        travel_mode=row.travel_mode,
        needs=frozenset(row.needs),
        preferences=tuple(row.preferences),
        avoid_enterprises=frozenset(row.avoid_enterprises),
        waiting_since=row.waiting_since,
        current_slot_id=current_slot_id,
        # Pinned means "keep the seat held now"; without an active placement there is nothing to keep.
        pinned=bool((row.pinned or keep_seat) and current_slot_id),
    )


def to_core_slot(row: db.Slot) -> matcher.Slot:
    return matcher.Slot(
        slot_id=row.id,
        site_id=row.site_id,
        activity=row.activity,
        seats=row.seats,
        min_hours=row.min_hours,
        max_hours=row.max_hours,
        days=frozenset(row.days),
        supports=frozenset(row.supports),
        programmes=frozenset(row.programmes),
        min_age=row.min_age,
        max_age=row.max_age,
        women_only=row.women_only,
        supervision_ratio=row.supervision_ratio,
        available_from=row.available_from,
        available_to=row.available_to,
    )


def to_core_site(row: db.Site) -> matcher.Site:
    return matcher.Site(
        site_id=row.id,
        enterprise_id=row.enterprise_id,
        name=row.name,
        municipality=row.municipality,
        lat=row.lat,
        lon=row.lon,
        accessibility=frozenset(row.accessibility),
        supervisor_hours=row.supervisor_hours,
    )


def active_slots(session: Session, association_id: str) -> dict[str, str]:
    """participant_id -> slot_id of the active placement, for one association (two columns, no objects)."""
    query = select(db.Placement.participant_id, db.Placement.slot_id).where(
        db.Placement.end_date.is_(None), db.Placement.association_id == association_id
    )
    return {participant_id: slot_id for participant_id, slot_id in session.execute(query)}


def load_catalogue(session: Session, association_id: str, on: date | None = None) -> matcher.Instance:
    """The association's data set without its placements: nobody holds a seat, and `pinned` is as stored (the
    flag alone; `with_seats` keeps it only for people who hold one). With `with_seats(…, active_slots(…))` it is
    `load_instance(session, association_id)`, in two parts that change at different rates."""
    instance = load_instance(session, association_id, on=on, placements=False)
    pinned = set(session.scalars(select(db.Participant.id).where(
        db.Participant.association_id == association_id, db.Participant.pinned.is_(True)
    )))  # fmt: skip
    people = tuple(replace(p, pinned=True) if p.participant_id in pinned else p for p in instance.participants)
    return replace(instance, participants=people)


def with_seats(catalogue: matcher.Instance, held: dict[str, str]) -> matcher.Instance:
    """The catalogue with each person's current slot from `held` (participant_id -> slot_id); pinned only for a
    person who holds a seat, as `load_instance` has it."""
    people = tuple(
        replace(p, current_slot_id=held.get(p.participant_id), pinned=p.pinned and p.participant_id in held)
        if p.pinned or p.participant_id in held
        else p
        for p in catalogue.participants
    )
    return replace(catalogue, participants=people)


def load_instance(
    session: Session,
    association_id: str,
    keep_active: bool = False,
    on: date | None = None,
    placements: bool = True,
) -> matcher.Instance:
    """The association's whole data set as the core sees it; current_slot_id comes from active placements.

    `keep_active` pins everyone who holds a seat, so the plan only fills free seats (a plan without allow_moves).
    `on`: slots and sites have the capacity in force on that date (scheduled changes effective by then applied);
    only the instance gets it, the rows keep today's values. `placements=False`: nobody holds a seat (see
    `load_catalogue`).
    """
    enterprises = list(
        session.scalars(
            select(db.Enterprise).where(db.Enterprise.association_id == association_id).order_by(db.Enterprise.id)
        )
    )
    sites = list(session.scalars(select(db.Site).where(db.Site.association_id == association_id).order_by(db.Site.id)))
    site_ids = [s.id for s in sites]
    slots = list(session.scalars(select(db.Slot).where(db.Slot.association_id == association_id).order_by(db.Slot.id)))
    people = list(
        session.scalars(
            select(db.Participant)
            .where(db.Participant.association_id == association_id, db.Participant.erased_at.is_(None))
            .order_by(db.Participant.id)
        )
    )
    active = active_placements(session, association_id) if placements else {}
    travel = list(
        session.scalars(
            select(db.TravelTime)
            .where(db.TravelTime.association_id == association_id)
            .order_by(db.TravelTime.participant_id, db.TravelTime.site_id)
        )
    )
    core_sites = [to_core_site(s) for s in sites]
    core_slots = [to_core_slot(s) for s in slots]
    if on is not None:
        core_sites = _in_force(
            core_sites, in_force.scheduled_changes(session, association_id, site_ids=site_ids, on=on)
        )
        slot_changes = in_force.scheduled_changes(session, association_id, slot_ids=[s.id for s in slots], on=on)
        core_slots = _in_force(core_slots, slot_changes)
    return matcher.Instance(
        enterprises=tuple(matcher.Enterprise(e.id, e.name, e.municipality) for e in enterprises),
        sites=tuple(core_sites),
        slots=tuple(core_slots),
        participants=tuple(
            to_core_participant(p, active[p.id].slot_id if p.id in active else None, keep_active) for p in people
        ),
        travel_times=tuple(matcher.TravelTime(t.participant_id, t.site_id, t.minutes) for t in travel),
    )


CoreCapacity = TypeVar("CoreCapacity", matcher.Slot, matcher.Site)


def _in_force(items: list[CoreCapacity], changes: dict[str, list[db.ScheduledCapacityChange]]) -> list[CoreCapacity]:
    """Each core slot or site with its scheduled changes applied (the core's field names are the database's)."""
    result = []
    for item in items:
        key = item.slot_id if isinstance(item, matcher.Slot) else item.site_id
        dated = changes.get(key)
        if not dated:
            result.append(item)
            continue
        names = in_force.SLOT_FIELDS if isinstance(item, matcher.Slot) else in_force.SITE_FIELDS
        # From the item's own values, so a relative change adds to what is in force on the date.
        fields = in_force.apply({f: getattr(item, f) for f in names}, dated)
        if "days" in fields:
            fields["days"] = frozenset(fields["days"])
        result.append(replace(item, **fields))
    return result


PROBLEM_SUBJECTS = {
    "enterprises.csv": "enterprise",
    "sites.csv": "site",
    "slots.csv": "slot",
    "participants.csv": "participant",
    "travel_times.csv": "travel time",
}
PINNED_LIMITS = {("sites.csv", "supervisor_hours"), ("slots.csv", "seats")}


def describe_problems(session: Session, association_id: str, problems: list[matcher.Problem]) -> list[str]:
    """Why the core refused the association's data, in the service's terms (site, slot, placement, field): the core
    names files and rows, which mean nothing for data that came from the database."""
    from service.catalogue.capacity import pinned_limit_problems

    pinned = any((p.file, p.column) in PINNED_LIMITS for p in problems)
    limits = pinned_limit_problems(session, association_id) if pinned else []
    others = [
        f"{PROBLEM_SUBJECTS.get(p.file, p.file)} {p.column}: {p.message}"
        for p in problems
        if (p.file, p.column) not in PINNED_LIMITS or not limits
    ]
    return limits + others
