"""All SQL about enterprises, sites and slots."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.access import enterprise_filter
from service.db import models as db


def enterprises_query(user: db.User) -> Select[db.Enterprise]:
    return select(db.Enterprise).where(enterprise_filter(user)).order_by(db.Enterprise.id)


def sites_query(user: db.User, enterprise_id: str | None = None) -> Select[db.Site]:
    query = select(db.Site).join(db.Enterprise).where(enterprise_filter(user)).order_by(db.Site.id)
    if enterprise_id:
        query = query.where(db.Site.enterprise_id == enterprise_id)
    return query


def slots_query(user: db.User, site_id: str | None = None) -> Select[db.Slot]:
    query = select(db.Slot).join(db.Site).join(db.Enterprise).where(enterprise_filter(user)).order_by(db.Slot.id)
    if site_id:
        query = query.where(db.Slot.site_id == site_id)
    return query


def taken_seats(session: Session, association_id: str, slot_ids: list[str]) -> dict[str, int]:
    if not slot_ids:
        return {}
    rows = session.execute(
        select(db.Placement.slot_id, func.count())
        .where(
            db.Placement.association_id == association_id,
            db.Placement.slot_id.in_(slot_ids),
            db.Placement.end_date.is_(None),
        )
        .group_by(db.Placement.slot_id)
    )
    return {slot_id: int(count) for slot_id, count in rows}


def active_placement_ids(session: Session, association_id: str, slot_id: str) -> list[int]:
    return list(
        session.scalars(
            select(db.Placement.id).where(
                db.Placement.association_id == association_id,
                db.Placement.slot_id == slot_id,
                db.Placement.end_date.is_(None),
            )
        )
    )


def lock_slot(session: Session, association_id: str, slot_id: str) -> db.Slot | None:
    """Re-read the slot with a row lock (PostgreSQL; SQLite already holds the write lock), fresh from the database."""
    return session.scalar(
        select(db.Slot)
        .where(db.Slot.association_id == association_id, db.Slot.id == slot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_site(session: Session, association_id: str, site_id: str) -> db.Site | None:
    return session.scalar(
        select(db.Site)
        .where(db.Site.association_id == association_id, db.Site.id == site_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def has_dependents(session: Session, model: type[db.Base], association_id: str, column: object, value: str) -> bool:
    """Whether a row of `model` in the association has `column == value`."""
    owner = model.association_id  # type: ignore[attr-defined]
    query = select(func.count()).select_from(model).where(owner == association_id, column == value)  # type: ignore[arg-type]
    return session.scalar(query) > 0  # type: ignore[operator]


def enterprise(session: Session, association_id: str, enterprise_id: str) -> db.Enterprise | None:
    return session.get(db.Enterprise, (association_id, enterprise_id))


def site(session: Session, association_id: str, site_id: str) -> db.Site | None:
    return session.get(db.Site, (association_id, site_id))


def slot(session: Session, association_id: str, slot_id: str) -> db.Slot | None:
    return session.get(db.Slot, (association_id, slot_id))


def add(session: Session, row: db.Base) -> None:
    """Insert now (not at commit), so a duplicate or a broken reference fails here and the row has its defaults."""
    session.add(row)
    session.flush()


def flush(session: Session) -> None:
    session.flush()


def delete(session: Session, row: db.Base) -> None:
    session.delete(row)


def capacity_history(
    session: Session, association_id: str, slot_id: str | None = None, site_id: str | None = None
) -> list[db.CapacityChange]:
    column = db.CapacityChange.slot_id if slot_id is not None else db.CapacityChange.site_id
    value = slot_id if slot_id is not None else site_id
    query = select(db.CapacityChange).where(db.CapacityChange.association_id == association_id, column == value)
    return list(session.scalars(query.order_by(db.CapacityChange.id)))


def supervised_placements(
    session: Session, association_id: str, site_id: str, pinned_only: bool = False
) -> list[tuple[int, str, float, float]]:
    """(placement id, slot id, the participant's hours a week, the slot's ratio) of the site's active placements."""
    query = (
        select(db.Placement.id, db.Slot.id, db.Participant.hours_per_week, db.Slot.supervision_ratio)
        .join(db.Participant, db.placement_participant())
        .join(db.Slot, db.placement_slot())
        .where(
            db.Placement.association_id == association_id,
            db.Slot.site_id == site_id,
            db.Placement.end_date.is_(None),
        )
        .order_by(db.Placement.id)
    )
    if pinned_only:
        query = query.where(db.Participant.pinned.is_(True))
    return [(placement_id, slot_id, hours, ratio) for placement_id, slot_id, hours, ratio in session.execute(query)]


def pinned_placements(session: Session, association_id: str, slot_id: str) -> list[int]:
    return list(
        session.scalars(
            select(db.Placement.id)
            .join(db.Participant, db.placement_participant())
            .where(
                db.Placement.association_id == association_id,
                db.Placement.slot_id == slot_id,
                db.Placement.end_date.is_(None),
                db.Participant.pinned.is_(True),
            )
            .order_by(db.Placement.id)
        )
    )


def coaches_of_placements(session: Session, placement_ids: list[int]) -> list[tuple[int, int, str]]:
    """(placement id, coach user id, coach login name) of each placement whose participant has a coach not revoked."""
    rows = session.execute(
        select(db.Placement.id, db.User.id, db.User.name)
        .join(db.Participant, db.placement_participant())
        .join(db.User, db.User.id == db.Participant.coach_id)
        .where(db.Placement.id.in_(placement_ids), db.User.revoked_at.is_(None))
        .order_by(db.User.name, db.Placement.id)
    )
    return [(placement_id, coach_id, name) for placement_id, coach_id, name in rows]


def supervised_sites(session: Session, association_id: str) -> list[db.Site]:
    """The association's sites with a supervisor hours limit."""
    return list(
        session.scalars(
            select(db.Site)
            .where(db.Site.association_id == association_id, db.Site.supervisor_hours.is_not(None))
            .order_by(db.Site.id)
        )
    )


def association_slots(session: Session, association_id: str) -> list[db.Slot]:
    return list(session.scalars(select(db.Slot).where(db.Slot.association_id == association_id).order_by(db.Slot.id)))


def active_holders(session: Session, association_id: str, slot_ids: list[str]) -> list[tuple[int, str, str]]:
    """(placement id, participant id, slot id) of the active placements in these slots."""
    if not slot_ids:
        return []
    query = (
        select(db.Placement.id, db.Placement.participant_id, db.Placement.slot_id)
        .where(
            db.Placement.association_id == association_id,
            db.Placement.slot_id.in_(slot_ids),
            db.Placement.end_date.is_(None),
        )
        .order_by(db.Placement.id)
    )
    return [(int(pid), participant, slot) for pid, participant, slot in session.execute(query)]


def scheduled_change(session: Session, change_id: int) -> db.ScheduledCapacityChange | None:
    return session.get(db.ScheduledCapacityChange, change_id)


def site_slot_ids(session: Session, association_id: str, site_id: str) -> list[str]:
    query = select(db.Slot.id).where(db.Slot.association_id == association_id, db.Slot.site_id == site_id)
    return list(session.scalars(query.order_by(db.Slot.id)))


def holders_with_people(
    session: Session, association_id: str, slot_id: str
) -> list[tuple[db.Placement, db.Participant]]:
    """The slot's active placements, each with its participant, in placement order."""
    rows = session.execute(
        select(db.Placement, db.Participant)
        .join(db.Participant, db.placement_participant())
        .where(
            db.Placement.association_id == association_id,
            db.Placement.slot_id == slot_id,
            db.Placement.end_date.is_(None),
        )
        .order_by(db.Placement.id)
    )
    return [(placement, person) for placement, person in rows]


def travel_minutes(session: Session, association_id: str, participant_ids: list[str], site_id: str) -> dict[str, int]:
    """participant id -> the travel_times minutes to the site, for those that have a row."""
    if not participant_ids:
        return {}
    rows = session.execute(
        select(db.TravelTime.participant_id, db.TravelTime.minutes).where(
            db.TravelTime.association_id == association_id,
            db.TravelTime.participant_id.in_(participant_ids),
            db.TravelTime.site_id == site_id,
        )
    )
    return {pid: int(minutes) for pid, minutes in rows}


def warnings_of(session: Session, placement_ids: list[int]) -> list[db.PlacementWarning]:
    """The warnings of these placements (placement ids are global, so this is scoped by the placements')."""
    if not placement_ids:
        return []
    return list(
        session.scalars(
            select(db.PlacementWarning)
            .where(db.PlacementWarning.placement_id.in_(placement_ids))
            .order_by(db.PlacementWarning.id)
        )
    )


def add_all(session: Session, rows: list[db.PlacementWarning]) -> None:
    session.add_all(rows)
    session.flush()
