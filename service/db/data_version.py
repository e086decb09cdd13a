"""The association's data version: one choke point that moves it for every write that changes what the core sees.

A `before_flush` listener on every `Session` looks at the rows the flush will write (new, changed, deleted),
finds their associations (a slot through its site and enterprise, a travel time or a placement through its
participant) and moves their row in `data_versions` with one upsert per association, on the flush's own
connection: the version commits or rolls back with the write. Placements move `occupancy`; everything else the
core reads moves `catalogue`. An ORM bulk UPDATE/DELETE/INSERT of such a table (`session.execute(delete(...))`)
cannot be traced to an association, so it moves every association's catalogue.

Readers (`current`) take the version first and then the data, in one transaction: a write committed between the
two makes the cached data newer than its label, never older, and the next request sees the new version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from service.db import models as db

VERSIONS = db.Base.metadata.tables["data_versions"]
CATALOGUE = (db.Enterprise, db.Site, db.Slot, db.Participant, db.TravelTime, db.ScheduledCapacityChange)
OCCUPANCY = (db.Placement,)
TRACKED = CATALOGUE + OCCUPANCY
# The column that leads from each tracked row towards its association.
PARENT = {
    db.Enterprise: ("association", "association_id"),
    db.Participant: ("association", "association_id"),
    db.Site: ("enterprise", "enterprise_id"),
    db.Slot: ("site", "site_id"),
    db.TravelTime: ("participant", "participant_id"),
    db.Placement: ("participant", "participant_id"),
}


@dataclass(frozen=True)
class Version:
    catalogue: int
    occupancy: int


def current(session: Session, association_id: str) -> Version | None:
    """The association's version, one indexed read; None when no row exists yet (nothing may be cached then)."""
    row = session.execute(
        select(VERSIONS.c.catalogue, VERSIONS.c.occupancy).where(VERSIONS.c.association_id == association_id)
    ).first()
    return None if row is None else Version(int(row[0]), int(row[1]))


def _values(obj: Any, column: str) -> set[Any]:
    """The column's value before and after this flush (both, when it changes: a slot moved to another site)."""
    history = get_history(obj, column)
    return {v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}


def _refs(obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, db.ScheduledCapacityChange):
        return [("slot", v) for v in _values(obj, "slot_id")] + [("site", v) for v in _values(obj, "site_id")]
    kind, column = PARENT[type(obj)]
    return [(kind, v) for v in _values(obj, column)]


class _Resolver:
    """Association of an enterprise, site, slot or participant id: from the rows pending in this flush, else from
    the database as it is before the flush (so a row deleted in the same flush is still found)."""

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.pending: dict[tuple[str, Any], list[tuple[str, Any]]] = defaultdict(list)
        for obj in session.new:
            for kind, model in (("enterprise", db.Enterprise), ("site", db.Site), ("slot", db.Slot)):
                if isinstance(obj, model):
                    self.pending[(kind, obj.id)] += _refs(obj)
            if isinstance(obj, db.Participant):
                self.pending[("participant", obj.id)] += _refs(obj)

    def associations(self, refs: Iterable[tuple[str, Any]]) -> set[str]:
        found: set[str] = set()
        todo = set(refs)
        seen: set[tuple[str, Any]] = set()
        while todo:
            ref = todo.pop()
            if ref in seen:
                continue
            seen.add(ref)
            kind, key = ref
            if kind == "association":
                found.add(str(key))
            elif ref in self.pending:
                todo.update(self.pending[ref])
            else:
                found.update(self._stored(kind, key))
        return found

    def _stored(self, kind: str, key: Any) -> set[str]:
        e, t, s, p = (db.Base.metadata.tables[n] for n in ("enterprises", "sites", "slots", "participants"))
        if kind == "participant":
            query = select(p.c.association_id).where(p.c.id == key)
        elif kind == "enterprise":
            query = select(e.c.association_id).where(e.c.id == key)
        elif kind == "site":
            query = select(e.c.association_id).join(t, t.c.enterprise_id == e.c.id).where(t.c.id == key)
        else:
            query = (
                select(e.c.association_id)
                .join(t, t.c.enterprise_id == e.c.id)
                .join(s, s.c.site_id == t.c.id)
                .where(s.c.id == key)
            )
        return {str(a) for a in self.connection.execute(query).scalars()}


def bump(connection: Connection, association_id: str, catalogue: int, occupancy: int) -> None:
    """Move the association's version by the given steps, creating its row when it has none (one statement)."""
    values = {"association_id": association_id, "catalogue": catalogue, "occupancy": occupancy}
    changes = {"catalogue": VERSIONS.c.catalogue + catalogue, "occupancy": VERSIONS.c.occupancy + occupancy}
    name = connection.dialect.name
    if name in ("sqlite", "postgresql"):
        insert = sqlite.insert if name == "sqlite" else postgresql.insert
        connection.execute(
            insert(VERSIONS).values(**values).on_conflict_do_update(index_elements=["association_id"], set_=changes)
        )
        return
    moved = connection.execute(update(VERSIONS).where(VERSIONS.c.association_id == association_id).values(changes))
    if not moved.rowcount:
        connection.execute(VERSIONS.insert().values(**values))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    changed = [o for o in session.new | session.deleted if isinstance(o, TRACKED)]
    changed += [o for o in session.dirty if isinstance(o, TRACKED) and session.is_modified(o)]
    if not changed:
        return
    resolver = _Resolver(session)
    steps: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for obj in changed:
        kind = 1 if isinstance(obj, OCCUPANCY) else 0
        for association_id in resolver.associations(_refs(obj)):
            steps[association_id][kind] = 1
    for association_id, (catalogue, occupancy) in sorted(steps.items()):  # one order: no deadlock between flushes
        bump(resolver.connection, association_id, catalogue, occupancy)


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if any(mapper.class_ in TRACKED for mapper in state.all_mappers):
        state.session.connection().execute(update(VERSIONS).values(catalogue=VERSIONS.c.catalogue + 1))
