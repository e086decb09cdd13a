"""The association's data version: one choke point that moves it for every write that changes what the core sees.

A `before_flush` listener on every `Session` looks at the rows the flush will write (new, changed, deleted),
reads each one's `association_id` (every tracked table has its own, part of the key or copied from the parent: no
lookup) and moves their row in `data_versions` with one upsert per association, on the flush's own connection: the
version commits or rolls back with the write. Placements move `occupancy`; everything else the core reads moves
`catalogue`. An ORM bulk UPDATE/DELETE of such a table (`session.execute(delete(...))`) is not traced row by row:
one whose WHERE names `association_id == value` (every scoped write does) moves that association's version, any
other (and a bulk INSERT) moves every association's catalogue; so does a row whose association is not set yet (never
in the service: every constructor names it).

Readers (`current`) take the version first and then the data, in one transaction: a write committed between the
two makes the cached data newer than its label, never older, and the next request sees the new version.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from service.db import models as db

VERSIONS = db.Base.metadata.tables["data_versions"]
CATALOGUE = (db.Enterprise, db.Site, db.Slot, db.Participant, db.TravelTime, db.ScheduledCapacityChange)
OCCUPANCY = (db.Placement,)
TRACKED = CATALOGUE + OCCUPANCY


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


def _associations(obj: Any) -> set[str]:
    """The row's association before and after this flush (both, should it change)."""
    history = get_history(obj, "association_id")
    return {str(v) for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}


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
    connection = session.connection()
    steps: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    unknown = False
    for obj in changed:
        kind = 1 if isinstance(obj, OCCUPANCY) else 0
        associations = _associations(obj)
        unknown = unknown or not associations
        for association_id in associations:
            steps[association_id][kind] = 1
    if unknown:
        _bump_all(connection)
    for association_id, (catalogue, occupancy) in sorted(steps.items()):  # one order: no deadlock between flushes
        bump(connection, association_id, catalogue, occupancy)


def _bump_all(connection: Connection) -> None:
    connection.execute(update(VERSIONS).values(catalogue=VERSIONS.c.catalogue + 1))


def _scoped_to(statement: Any) -> str | None:
    """The one association a bulk UPDATE/DELETE is limited to, when its WHERE is an AND holding
    `<table>.association_id == <value>` (as every scoped write is); None otherwise."""
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    terms = where.clauses if isinstance(where, BooleanClauseList) and where.operator is operators.and_ else [where]
    for term in terms:
        if not (isinstance(term, BinaryExpression) and term.operator is operators.eq):
            continue
        column, value = term.left, term.right
        if isinstance(column, BindParameter):
            column, value = value, column
        if (
            isinstance(column, Column)
            and column.name == "association_id"
            and column.table.name == getattr(statement.table, "name", None)  # the written table's own column
            and isinstance(value, BindParameter)
        ):
            found = value.effective_value
            if isinstance(found, str):
                return found
    return None


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mappers = [mapper.class_ for mapper in state.all_mappers]
    if not any(model in TRACKED for model in mappers):
        return
    association_id = None if state.is_insert else _scoped_to(state.statement)
    if association_id is None:
        _bump_all(state.session.connection())
    else:
        occupancy = all(model in OCCUPANCY for model in mappers if model in TRACKED)
        bump(state.session.connection(), association_id, int(not occupancy), int(occupancy))
