"""All SQL of the reports: the association's slots, seats taken, waiting people, and how placements ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, and_, exists, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from service.db import models as db


@dataclass(frozen=True)
class SlotRow:
    slot_id: str
    activity: str
    seats: int
    programmes: list[str]
    site_id: str
    site_name: str
    site_municipality: str
    enterprise_id: str
    enterprise_name: str


@dataclass(frozen=True)
class WaitingPerson:
    programme: str
    municipality: str
    preferences: list[str]
    days: int | None


def slots(session: Session, association_id: str) -> list[SlotRow]:
    rows = session.execute(
        select(
            db.Slot.id,
            db.Slot.activity,
            db.Slot.seats,
            db.Slot.programmes,
            db.Site.id,
            db.Site.name,
            db.Site.municipality,
            db.Enterprise.id,
            db.Enterprise.name,
        )  # fmt: skip
        .join(db.Site, db.slot_site())
        .join(db.Enterprise, db.site_enterprise())
        .where(db.Slot.association_id == association_id)
        .order_by(db.Slot.id)
    )
    return [SlotRow(*row) for row in rows]


def taken(session: Session, association_id: str) -> dict[str, int]:
    rows = session.execute(
        select(db.Placement.slot_id, func.count())
        .where(db.Placement.association_id == association_id, db.Placement.end_date.is_(None))
        .group_by(db.Placement.slot_id)
    )
    return {slot_id: int(n) for slot_id, n in rows}


def warned(session: Session, association_id: str) -> dict[str, int]:
    """slot id -> its active placements that have a warning (a rule broken since the slot changed under them)."""
    warned = select(db.PlacementWarning.placement_id)
    rows = session.execute(
        select(db.Placement.slot_id, func.count())
        .where(
            db.Placement.association_id == association_id,
            db.Placement.end_date.is_(None),
            db.Placement.id.in_(warned),
        )
        .group_by(db.Placement.slot_id)
    )
    return {slot_id: int(n) for slot_id, n in rows}


def waiting(session: Session, association_id: str, on: date) -> list[WaitingPerson]:
    active = aliased(db.Placement)
    holds_a_seat = exists().where(
        and_(
            active.association_id == db.Participant.association_id,
            active.participant_id == db.Participant.id,
            active.end_date.is_(None),
        )
    )
    rows = session.execute(
        select(
            db.Participant.programme,
            db.Participant.municipality,
            db.Participant.preferences,
            db.Participant.waiting_since,
        )
        .where(db.Participant.association_id == association_id, db.Participant.erased_at.is_(None), ~holds_a_seat)
        .order_by(db.Participant.id)
    )
    return [
        WaitingPerson(
            programme, municipality, list(preferences or []), None if since is None else max((on - since).days, 0)
        )
        for programme, municipality, preferences, since in rows
    ]


def named(session: Session, model: Any, association_id: str) -> list[tuple[str, str]]:
    if model is db.Enterprise:
        query = select(db.Enterprise.id, db.Enterprise.name).where(db.Enterprise.association_id == association_id)
    else:
        query = select(db.Site.id, db.Site.name).where(db.Site.association_id == association_id)
    return [(i, n) for i, n in session.execute(query.order_by(model.id))]


def sites(session: Session, association_id: str) -> list[tuple[str, str, str, str]]:
    query = (
        select(db.Site.id, db.Site.name, db.Enterprise.id, db.Enterprise.name)
        .join(db.Enterprise, db.site_enterprise())
        .where(db.Site.association_id == association_id)
        .order_by(db.Site.id)
    )
    return [(a, b, c, d) for a, b, c, d in session.execute(query)]


def ended_counts(
    session: Session,
    association_id: str,
    programme: str | None,
    ended_from: date | None = None,
    ended_to: date | None = None,
) -> Sequence[tuple[str, Any, int]]:
    """(programme, end reason as stored, count) of the ended placements, by programme and reason."""
    # The stored text, not the enum: a reason this code's enum does not know yet (a newer migration's) still counts.
    reason_text = type_coerce(db.Placement.end_reason, String)
    base = (
        select(db.Participant.programme, reason_text, func.count())
        .join(db.Participant, db.placement_participant())
        .where(db.Placement.association_id == association_id, db.Placement.end_date.is_not(None))
        .group_by(db.Participant.programme, reason_text)
        .order_by(db.Participant.programme, reason_text)
    )
    if programme:
        base = base.where(db.Participant.programme == programme)
    if ended_from is not None:
        base = base.where(db.Placement.end_date >= ended_from)
    if ended_to is not None:
        base = base.where(db.Placement.end_date <= ended_to)
    return [(prog, reason, int(n)) for prog, reason, n in session.execute(base)]
