"""Taking a seat safely: the pair must be feasible and the slot and its site must have room, checked under a lock."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import matcher
from matcher import SEATS, SUPERVISION
from service.access import visible_participant, visible_slot
from service.catalogue import repository as catalogue
from service.core_bridge import to_core_participant, to_core_site, to_core_slot
from service.db import models as db
from service.errors import Conflict, InvalidInput, NotFound, ParticipantNotFound
from service.pagination import PageParams, fetch_page
from service.placements import repository as repo


def pair_failures(session: Session, person: db.Participant, slot: db.Slot, on: date) -> list[matcher.RuleFailure]:
    """The rules 1–9 this pair breaks on date `on` (the same rule functions the core explains with)."""
    site = slot.site
    override = repo.travel_time(session, person.association_id, person.id, site.id)
    pair = matcher.Instance(
        enterprises=(matcher.Enterprise(site.enterprise.id, site.enterprise.name, site.enterprise.municipality),),
        sites=(to_core_site(site),),
        slots=(to_core_slot(slot),),
        participants=(to_core_participant(person, None),),
        travel_times=(matcher.TravelTime(person.id, site.id, override.minutes),) if override is not None else (),
    )
    return matcher.pair_failures(pair, person.id, slot.id, on)


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
    site = catalogue.lock_site(session, slot.association_id, slot.site_id)
    fresh = catalogue.lock_slot(session, slot.association_id, slot.id)
    if site is None or fresh is None:
        raise Conflict(f"slot '{slot.id}' was removed meanwhile")
    holding = repo.active_placement_of(session, person.association_id, person.id)
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
    taken = len(catalogue.active_placement_ids(session, fresh.association_id, fresh.id))
    if taken >= fresh.seats:
        raise Conflict(f"slot '{fresh.id}' is full: {taken} of {fresh.seats} seats taken", reason=SEATS.label)
    if site.supervisor_hours is not None:
        used = repo.supervision_used(session, site.association_id, site.id)
        need = SUPERVISION.need(person.hours_per_week, fresh.supervision_ratio)
        if not SUPERVISION.fits(used, need, site.supervisor_hours):
            raise Conflict(
                f"site '{site.id}' has {max(site.supervisor_hours - used, 0):g} supervisor hours left; "
                f"this placement needs {need:g}",
                reason=SUPERVISION.label,
            )
    person_id = person.id
    if person.association_id != fresh.association_id:  # the composite foreign keys would refuse it too
        raise NotFound(f"no slot '{fresh.id}'")
    placement = db.Placement(
        association_id=person.association_id,
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


def create_placement(
    session: Session, user: db.User, participant_id: str, slot_id: str, start_date: date
) -> db.Placement:
    person = visible_participant(session, user, participant_id)
    slot = visible_slot(session, user, slot_id)
    return take_seat(session, person, slot, start_date, user)


def visible_placement(session: Session, user: db.User, placement_id: int) -> db.Placement:
    """The placement, if its participant is in the user's view (else 404, as if it did not exist)."""
    placement = repo.placement(session, placement_id)
    if placement is None or placement.association_id != user.association_id:
        raise ParticipantNotFound(f"no placement {placement_id}")
    try:
        visible_participant(session, user, placement.participant_id)
    except NotFound:
        raise ParticipantNotFound(f"no placement {placement_id}") from None
    return placement


def list_placements(
    session: Session,
    user: db.User,
    page: PageParams,
    participant_id: str | None = None,
    slot_id: str | None = None,
    active: bool | None = None,
) -> tuple[list[db.Placement], int]:
    return fetch_page(session, repo.placements_query(user, participant_id, slot_id, active), page)


def end_placement(
    session: Session, user: db.User, placement_id: int, end_reason: str, end_date: date | None
) -> db.Placement:
    """End an active placement (default today) with its reason; a pinned participant is unpinned."""
    placement = visible_placement(session, user, placement_id)
    if placement.end_date is not None:
        raise Conflict(f"placement {placement_id} ended already on {placement.end_date.isoformat()}")
    end = end_date or date.today()
    if end < placement.start_date:
        raise InvalidInput(f"end_date {end.isoformat()} is before start_date {placement.start_date.isoformat()}")
    placement.end_date = end
    placement.end_reason = db.EndReason(end_reason)
    person = repo.participant(session, placement.association_id, placement.participant_id)
    if person is not None and person.pinned:
        person.pinned = False  # nothing left to keep
    return placement


def warned_placements(session: Session, user: db.User) -> list[db.Placement]:
    """Active placements (of the user's view) that break a rule since their slot was changed under them."""
    return list(session.scalars(repo.warned_placements(user)))
