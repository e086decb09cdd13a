"""All SQL about plans: the rows, the one-solve-at-a-time lock, and what apply and the solve read and lock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from service.db import models as db


def plan(session: Session, plan_id: int) -> db.Plan | None:
    return session.get(db.Plan, plan_id)


def plans_query(association_id: str) -> Select[db.Plan]:
    return select(db.Plan).where(db.Plan.association_id == association_id).order_by(db.Plan.id.desc())


def lock_association(session: Session, association_id: str) -> None:
    session.scalar(select(db.Association).where(db.Association.id == association_id).with_for_update())


def plan_under_way(session: Session, association_id: str) -> int | None:
    """The id of a plan of the association still queued or running."""
    return session.scalar(
        select(db.Plan.id).where(
            db.Plan.association_id == association_id,
            db.Plan.status.in_((db.PlanStatus.queued, db.PlanStatus.running)),
        )
    )


def add(session: Session, row: db.Plan) -> None:
    session.add(row)
    session.flush()


UNDER_WAY = (db.PlanStatus.queued, db.PlanStatus.running)


def take_plan(session: Session, plan_id: int, lease: str, owner: str) -> bool:
    """A worker takes a queued plan: it becomes running under `lease`; False when it is not queued (or taken)."""
    result = session.execute(
        update(db.Plan)
        .where(db.Plan.id == plan_id, db.Plan.status == db.PlanStatus.queued, db.Plan.lease.is_(None))
        .values(status=db.PlanStatus.running, lease=lease, owner=owner, started_at=db.utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def write_if_mine(session: Session, plan_id: int, lease: str, **values: Any) -> bool:
    """Update the plan only while it is under way under `lease`: a worker whose plan was failed by the service (or
    taken by another) writes nothing, so a status is written once and never over one set by another."""
    result = session.execute(
        update(db.Plan)
        .where(db.Plan.id == plan_id, db.Plan.lease == lease, db.Plan.status.in_(UNDER_WAY))
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def running_plans(session: Session) -> list[tuple[int, float, Any, str | None]]:
    """(id, time limit, deadline of its solve, owner) of every running plan."""
    rows = session.execute(
        select(db.Plan.id, db.Plan.time_limit_s, db.Plan.deadline, db.Plan.owner).where(
            db.Plan.status == db.PlanStatus.running
        )
    ).all()
    return [(i, t, s, o) for i, t, s, o in rows]


def pinned_on_record(session: Session, association_id: str) -> set[str]:
    query = select(db.Participant.id).where(
        db.Participant.association_id == association_id, db.Participant.pinned.is_(True)
    )
    return set(session.scalars(query))


def slot_versions(session: Session, association_id: str) -> list[tuple[str, int, str, float | None]]:
    """(slot id, slot version, site id, site supervisor hours) of every slot of the association."""
    rows = session.execute(
        select(db.Slot.id, db.Slot.version, db.Site.id, db.Site.supervisor_hours)
        .join(db.Site, db.slot_site())
        .where(db.Slot.association_id == association_id)
    ).all()
    return [(slot_id, version, site_id, hours) for slot_id, version, site_id, hours in rows]


def sites_of_slots(session: Session, association_id: str, slot_ids: Iterable[str]) -> set[str]:
    ids = set(slot_ids)
    if not ids:
        return set()
    query = select(db.Slot.site_id).where(db.Slot.association_id == association_id, db.Slot.id.in_(ids))
    return set(session.scalars(query))


def lock_active_placements(
    session: Session, association_id: str, participant_ids: Iterable[str]
) -> dict[str, db.Placement]:
    """participant id -> their active placement, locked and read fresh."""
    ids = sorted(set(participant_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(db.Placement)
        .where(
            db.Placement.association_id == association_id,
            db.Placement.participant_id.in_(ids),
            db.Placement.end_date.is_(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {p.participant_id: p for p in rows}


def participant(session: Session, association_id: str, participant_id: str) -> db.Participant | None:
    """The participant, or None when there is none or it is an erased row (a plan never places one)."""
    person = session.get(db.Participant, (association_id, participant_id))
    return person if person is not None and person.erased_at is None else None


def slot(session: Session, association_id: str, slot_id: str, fresh: bool = False) -> db.Slot | None:
    return session.get(db.Slot, (association_id, slot_id), populate_existing=fresh)


def flush(session: Session) -> None:
    session.flush()


def fail_plans(
    session: Session,
    error: str,
    statuses: tuple[db.PlanStatus, ...] | None = None,
    plan_ids: list[int] | None = None,
) -> int:
    """Mark as failed, with `error`, the plans under way in `statuses` and/or with `plan_ids`; how many were marked.

    Written by the service, not a worker: the plan's lease (if any) no longer counts, so its worker, if it is still
    alive, finds the plan ended and writes nothing."""
    query = update(db.Plan).where(db.Plan.status.in_(UNDER_WAY))  # a plan that has ended keeps its end
    if statuses is not None:
        query = query.where(db.Plan.status.in_(statuses))
    if plan_ids is not None:
        query = query.where(db.Plan.id.in_(plan_ids))
    result = session.execute(query.values(status=db.PlanStatus.failed, error=error, finished_at=db.utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def plan_ids_with_status(session: Session, statuses: tuple[db.PlanStatus, ...]) -> list[int]:
    return list(session.scalars(select(db.Plan.id).where(db.Plan.status.in_(statuses))))


def plans_under_way(session: Session) -> list[tuple[int, Any]]:
    """(id, created_at) of every plan queued or running."""
    rows = session.execute(select(db.Plan.id, db.Plan.created_at).where(db.Plan.status.in_(UNDER_WAY))).all()
    return [(i, c) for i, c in rows]
