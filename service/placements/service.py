"""Taking a seat safely: the pair must be feasible and the slot and its site must have room, checked under a lock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.integrity import SUPERVISION_TOLERANCE
from matcher.rules import SEATS, SUPERVISION, PairContext, rule_failures
from matcher.validation import estimated_minutes
from service.catalogue import repository as catalogue
from service.core_bridge import to_core_participant, to_core_site, to_core_slot
from service.db import models as db
from service.errors import Conflict

import matcher


def pair_failures(session: Session, person: db.Participant, slot: db.Slot, on: date) -> list[matcher.RuleFailure]:
    """The rules 1–9 this pair breaks on date `on` (the same rule functions the core explains with)."""
    site = slot.site
    core_person = to_core_participant(person, None)
    core_site = to_core_site(site)
    override = session.get(db.TravelTime, (person.id, site.id))
    minutes = override.minutes if override is not None else estimated_minutes(core_person, core_site)
    enterprise = matcher.Enterprise(site.enterprise.id, site.enterprise.name, site.enterprise.municipality)
    return rule_failures(PairContext(core_person, to_core_slot(slot), core_site, enterprise, minutes, on))


def supervision_used(session: Session, site_id: str) -> float:
    used = session.scalar(
        select(func.coalesce(func.sum(db.Participant.hours_per_week * db.Slot.supervision_ratio), 0.0))
        .select_from(db.Placement)
        .join(db.Participant, db.Participant.id == db.Placement.participant_id)
        .join(db.Slot, db.Slot.id == db.Placement.slot_id)
        .where(db.Slot.site_id == site_id, db.Placement.end_date.is_(None))
    )
    return float(used or 0.0)


def take_seat(
    session: Session,
    person: db.Participant,
    slot: db.Slot,
    start_date: date,
    user: db.User | None,
    plan_id: int | None = None,
) -> db.Placement:
    """Insert an active placement or raise `Conflict` with the reason; the caller's transaction commits it."""
    # Lock the site first: seats and supervision of all its slots are decided under this one lock, so two people
    # taking the last seat (or the last supervision hour) at the same moment are served one after the other.
    site = catalogue.lock_site(session, slot.site_id)
    fresh = catalogue.lock_slot(session, slot.id)
    if site is None or fresh is None:
        raise Conflict(f"slot '{slot.id}' was removed meanwhile")
    holding = session.scalar(
        select(db.Placement).where(db.Placement.participant_id == person.id, db.Placement.end_date.is_(None))
    )
    if holding is not None:
        raise Conflict(
            f"participant '{person.id}' already holds placement {holding.id} in slot '{holding.slot_id}'; end it first",
            placement_id=holding.id,
        )
    failures = pair_failures(session, person, fresh, start_date)
    if failures:
        raise Conflict(
            "the pair is not feasible: " + "; ".join(f.message for f in failures),
            rules=[{"rule": f.rule, "message": f.message} for f in failures],
        )
    taken = len(catalogue.active_placement_ids(session, fresh.id))
    if taken >= fresh.seats:
        raise Conflict(f"slot '{fresh.id}' is full: {taken} of {fresh.seats} seats taken", reason=SEATS.label)
    if site.supervisor_hours is not None:
        used = supervision_used(session, site.id)
        need = person.hours_per_week * fresh.supervision_ratio
        if used + need > site.supervisor_hours + SUPERVISION_TOLERANCE:
            raise Conflict(
                f"site '{site.id}' has {max(site.supervisor_hours - used, 0):g} supervisor hours left; "
                f"this placement needs {need:g}",
                reason=SUPERVISION.label,
            )
    person_id = person.id
    placement = db.Placement(
        participant_id=person_id,
        slot_id=fresh.id,
        start_date=start_date,
        created_by=user.id if user else None,
        plan_id=plan_id,
    )
    try:
        # Added inside the savepoint: begin_nested() flushes pending objects first, so a placement added before it
        # would be inserted outside the savepoint, and its unique violation would roll back the whole transaction.
        with session.begin_nested():
            session.add(placement)
            session.flush()
    except IntegrityError:
        raise Conflict(f"participant '{person_id}' took another seat at the same moment") from None
    return placement
