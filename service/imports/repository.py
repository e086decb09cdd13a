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


def _lock(session: Session, association_id: str, model: type[db.Site] | type[db.Slot], ids: Iterable[str]) -> None:
    """Lock rows in id order (PostgreSQL; SQLite transactions hold the write lock already), the order take_seat uses."""
    for chunk in _chunks(sorted(set(ids))):
        query: Select[Any] = (
            select(model)
            .where(model.association_id == association_id, model.id.in_(chunk))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        list(session.scalars(query))


def lock_sites_and_slots(
    session: Session, association_id: str, site_ids: Iterable[str], slot_ids: Iterable[str]
) -> None:
    """Lock the sites (and the sites of the slots), then the slots: sites first, as take_seat does."""
    slot_ids = set(slot_ids)
    of_slots = _in_chunks(
        session,
        lambda c: select(db.Slot.site_id).where(db.Slot.association_id == association_id, db.Slot.id.in_(c)),
        slot_ids,
    )
    _lock(session, association_id, db.Site, set(site_ids) | {site for (site,) in of_slots})
    _lock(session, association_id, db.Slot, slot_ids)


# Every lookup below is within the association: another association's record of the same id is a different record,
# never found, so an import neither sees nor mentions it.


def enterprises(session: Session, association_id: str, ids: Iterable[str]) -> dict[str, db.Enterprise]:
    Enterprise = db.Enterprise
    rows = _in_chunks(
        session,
        lambda c: select(Enterprise).where(Enterprise.association_id == association_id, Enterprise.id.in_(c)),
        ids,
    )
    return {e.id: e for (e,) in rows}


def sites(session: Session, association_id: str, ids: Iterable[str]) -> dict[str, db.Site]:
    rows = _in_chunks(
        session, lambda c: select(db.Site).where(db.Site.association_id == association_id, db.Site.id.in_(c)), ids
    )
    return {site.id: site for (site,) in rows}


def slots(session: Session, association_id: str, ids: Iterable[str]) -> dict[str, db.Slot]:
    rows = _in_chunks(
        session, lambda c: select(db.Slot).where(db.Slot.association_id == association_id, db.Slot.id.in_(c)), ids
    )
    return {slot.id: slot for (slot,) in rows}


def taken_seats(session: Session, association_id: str, slot_ids: Iterable[str]) -> dict[str, int]:
    """slot id -> its active placements (slots without any are left out)."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Placement.slot_id, func.count())
            .where(
                db.Placement.association_id == association_id,
                db.Placement.slot_id.in_(c),
                db.Placement.end_date.is_(None),
            )
            .group_by(db.Placement.slot_id)
        ),
        slot_ids,
    )
    return {slot_id: int(n) for slot_id, n in rows}


def capacity_history(
    session: Session, association_id: str, kind: Literal["slot", "site"], ids: Iterable[str]
) -> list[tuple[db.CapacityChange, str | None]]:
    """The slots' (or sites') capacity history with the login name of who made each change, oldest first."""
    column = db.CapacityChange.slot_id if kind == "slot" else db.CapacityChange.site_id
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.CapacityChange, db.User.name)
            .outerjoin(db.User, db.User.id == db.CapacityChange.user_id)
            .where(db.CapacityChange.association_id == association_id, column.in_(c))
            .order_by(db.CapacityChange.id)
        ),
        ids,
    )
    return [(change, name) for change, name in rows]


def participants(session: Session, association_id: str, ids: Iterable[str]) -> dict[str, db.Participant]:
    Participant = db.Participant
    rows = _in_chunks(
        session,
        lambda c: select(Participant).where(Participant.association_id == association_id, Participant.id.in_(c)),
        ids,
    )
    return {p.id: p for (p,) in rows}


def active_placements(session: Session, association_id: str, participant_ids: Iterable[str]) -> dict[str, db.Placement]:
    """participant id -> their active placement."""
    rows = _in_chunks(
        session,
        lambda c: select(db.Placement).where(
            db.Placement.association_id == association_id,
            db.Placement.participant_id.in_(c),
            db.Placement.end_date.is_(None),
        ),
        participant_ids,
    )
    return {p.participant_id: p for (p,) in rows}


def last_ended(session: Session, association_id: str, participant_ids: Iterable[str]) -> dict[tuple[str, str], date]:
    """(participant, slot) -> the last end of a placement there."""
    rows = _in_chunks(
        session,
        lambda c: (
            select(db.Placement.participant_id, db.Placement.slot_id, func.max(db.Placement.end_date))
            .where(
                db.Placement.association_id == association_id,
                db.Placement.participant_id.in_(c),
                db.Placement.end_date.is_not(None),
            )
            .group_by(db.Placement.participant_id, db.Placement.slot_id)
        ),
        participant_ids,
    )
    return {(pid, slot_id): end for pid, slot_id, end in rows}


def travel_times(
    session: Session, association_id: str, participant_ids: Iterable[str]
) -> dict[tuple[str, str], db.TravelTime]:
    """(participant, site) -> the travel time kept for it."""
    TravelTime = db.TravelTime
    rows = _in_chunks(
        session,
        lambda c: select(TravelTime).where(
            TravelTime.association_id == association_id, TravelTime.participant_id.in_(c)
        ),
        participant_ids,
    )
    return {(t.participant_id, t.site_id): t for (t,) in rows}


def add(session: Session, row: db.Base) -> None:
    session.add(row)


def flush(session: Session) -> None:
    session.flush()
