"""All SQL about placements (the seat locks are the catalogue's: `service.catalogue.repository`)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.access import participant_filter
from service.db import models as db


def placement(session: Session, placement_id: int) -> db.Placement | None:
    return session.get(db.Placement, placement_id)


def participant(session: Session, association_id: str, participant_id: str) -> db.Participant | None:
    return session.get(db.Participant, (association_id, participant_id))


def travel_time(session: Session, association_id: str, participant_id: str, site_id: str) -> db.TravelTime | None:
    return session.get(db.TravelTime, (association_id, participant_id, site_id))


def placements_query(
    user: db.User, participant_id: str | None = None, slot_id: str | None = None, active: bool | None = None
) -> Select[db.Placement]:
    query = (
        select(db.Placement)
        .join(db.Participant, db.placement_participant())
        .where(participant_filter(user))
        .order_by(db.Placement.id)
    )
    if participant_id:
        query = query.where(db.Placement.participant_id == participant_id)
    if slot_id:
        query = query.where(db.Placement.slot_id == slot_id)
    if active is not None:
        query = query.where(db.Placement.end_date.is_(None) if active else db.Placement.end_date.is_not(None))
    return query


def active_placement_of(session: Session, association_id: str, participant_id: str) -> db.Placement | None:
    return session.scalar(
        select(db.Placement).where(
            db.Placement.association_id == association_id,
            db.Placement.participant_id == participant_id,
            db.Placement.end_date.is_(None),
        )
    )


def supervision_used(session: Session, association_id: str, site_id: str) -> float:
    """Supervisor hours a week the site's active placements use: hours × the slot's ratio, summed."""
    used = session.scalar(
        select(func.coalesce(func.sum(db.Participant.hours_per_week * db.Slot.supervision_ratio), 0.0))
        .select_from(db.Placement)
        .join(db.Participant, db.placement_participant())
        .join(db.Slot, db.placement_slot())
        .where(
            db.Placement.association_id == association_id,
            db.Slot.site_id == site_id,
            db.Placement.end_date.is_(None),
        )
    )
    return float(used or 0.0)


def warned_placements(user: db.User) -> Select[db.Placement]:
    """The user's visible active placements that carry a warning (a rule broken since their slot changed)."""
    warned = select(db.PlacementWarning.placement_id)
    return (
        select(db.Placement)
        .join(db.Participant, db.placement_participant())
        .where(participant_filter(user), db.Placement.end_date.is_(None), db.Placement.id.in_(warned))
        .order_by(db.Placement.slot_id, db.Placement.id)
    )
