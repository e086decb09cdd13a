"""All SQL of an import: what the upload's ids hold in the database, the locks, and the rows it writes.

Ids are sent in chunks: a data set of 50,000 participants would exceed the parameter limits of an IN (...) list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.db import models as db

_CHUNK = 2000  # ids per IN (...) list, well below the parameter limits of SQLite and PostgreSQL

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]  # a select of any columns


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    batch = list(items)
    for i in range(0, len(batch), _CHUNK):
        yield batch[i : i + _CHUNK]


def _in_chunks(session: Session, build: Callable[[list[str]], AnySelect], ids: Iterable[str]) -> list[Any]:
    """Run `build(chunk)` (a select) for each chunk of ids and collect the rows."""
    out: list[Any] = []
    for chunk in _chunks(sorted(set(ids))):
        out.extend(session.execute(build(chunk)).all())
    return out


def _lock(session: Session, model: type[db.Site] | type[db.Slot], ids: Iterable[str]) -> None:
    """Lock rows in id order (PostgreSQL; SQLite transactions hold the write lock already), the order take_seat uses."""
    for chunk in _chunks(sorted(set(ids))):
        query: Select[Any] = (
            select(model)
            .where(model.id.in_(chunk))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        list(session.scalars(query))


def lock_sites_and_slots(session: Session, site_ids: Iterable[str], slot_ids: Iterable[str]) -> None:
    """Lock the sites (and the sites of the slots), then the slots: sites first, as take_seat does."""
    slot_ids = set(slot_ids)
    sites = set(site_ids) | {
        site for (site,) in _in_chunks(session, lambda c: select(db.Slot.site_id).where(db.Slot.id.in_(c)), slot_ids)
    }
    _lock(session, db.Site, sites)
    _lock(session, db.Slot, slot_ids)


def enterprises(session: Session, ids: Iterable[str]) -> dict[str, db.Enterprise]:
    rows = _in_chunks(session, lambda c: select(db.Enterprise).where(db.Enterprise.id.in_(c)), ids)
    return {e.id: e for (e,) in rows}


def sites_with_owner(session: Session, ids: Iterable[str]) -> dict[str, tuple[db.Site, str]]:
    """site id -> (the site, the association that owns it)."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Site, db.Enterprise.association_id)
            .join(db.Enterprise, db.Enterprise.id == db.Site.enterprise_id)
            .where(db.Site.id.in_(c))
        ),
        ids,
    )
    return {site.id: (site, owner) for site, owner in rows}


def slots_with_owner(session: Session, ids: Iterable[str]) -> dict[str, tuple[db.Slot, str]]:
    """slot id -> (the slot, the association that owns it)."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Slot, db.Enterprise.association_id)
            .join(db.Site, db.Site.id == db.Slot.site_id)
            .join(db.Enterprise, db.Enterprise.id == db.Site.enterprise_id)
            .where(db.Slot.id.in_(c))
        ),
        ids,
    )
    return {slot.id: (slot, owner) for slot, owner in rows}


def taken_seats(session: Session, slot_ids: Iterable[str]) -> dict[str, int]:
    """slot id -> its active placements (slots without any are left out)."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Placement.slot_id, func.count())
            .where(db.Placement.slot_id.in_(c), db.Placement.end_date.is_(None))
            .group_by(db.Placement.slot_id)
        ),
        slot_ids,
    )
    return {slot_id: int(n) for slot_id, n in rows}


def capacity_history(
    session: Session, kind: Literal["slot", "site"], ids: Iterable[str]
) -> list[tuple[db.CapacityChange, str | None]]:
    """The slots' (or sites') capacity history with the login name of who made each change, oldest first."""
    column = db.CapacityChange.slot_id if kind == "slot" else db.CapacityChange.site_id
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.CapacityChange, db.User.name)
            .outerjoin(db.User, db.User.id == db.CapacityChange.user_id)
            .where(column.in_(c))
            .order_by(db.CapacityChange.id)
        ),
        ids,
    )
    return [(change, name) for change, name in rows]


def participants(session: Session, ids: Iterable[str]) -> dict[str, db.Participant]:
    rows = _in_chunks(session, lambda c: select(db.Participant).where(db.Participant.id.in_(c)), ids)
    return {p.id: p for (p,) in rows}


def active_placements(session: Session, participant_ids: Iterable[str]) -> dict[str, db.Placement]:
    """participant id -> their active placement."""
    rows = _in_chunks(
        session,
        lambda c: select(db.Placement).where(db.Placement.participant_id.in_(c), db.Placement.end_date.is_(None)),
        participant_ids,
    )
    return {p.participant_id: p for (p,) in rows}


def last_ended(session: Session, participant_ids: Iterable[str]) -> dict[tuple[str, str], date]:
    """(participant, slot) -> the last end of a placement there."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Placement.participant_id, db.Placement.slot_id, func.max(db.Placement.end_date))
            .where(db.Placement.participant_id.in_(c), db.Placement.end_date.is_not(None))
            .group_by(db.Placement.participant_id, db.Placement.slot_id)
        ),
        participant_ids,
    )
    return {(pid, slot_id): end for pid, slot_id, end in rows}


def travel_times(session: Session, participant_ids: Iterable[str]) -> dict[tuple[str, str], db.TravelTime]:
    """(participant, site) -> the travel time kept for it."""
    rows = _in_chunks(
        session, lambda c: select(db.TravelTime).where(db.TravelTime.participant_id.in_(c)), participant_ids
    )
    return {(t.participant_id, t.site_id): t for (t,) in rows}


def add(session: Session, row: db.Base) -> None:
    session.add(row)


def flush(session: Session) -> None:
    session.flush()
