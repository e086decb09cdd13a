"""Engines and sessions. SQLite gets WAL and a busy timeout; a transaction that writes starts with
`BEGIN IMMEDIATE` (it takes the write lock first, so concurrent writers serialise instead of failing half-way),
a read starts with a plain deferred `BEGIN`: in WAL mode readers never wait for a writer, nor a writer for them.
PostgreSQL uses row locks (see `lock_for_update`) and never blocks a reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import service.db.data_version  # noqa: F401  (its listeners move the data version in every session's flush)

WRITE_OPTION = "placement_write"
"""Execution option of a connection whose transactions write: on SQLite they begin IMMEDIATE."""
READ_ONLY = "placement_read_only"
"""`Session.info` key of a read session: it may not flush a change (see `transaction`)."""
BUSY_TIMEOUT_MS = 30000


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A statement's parameters (participant ids among them) are kept out of its errors, so out of the logs.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (the pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers see a snapshot and never wait for the writer
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit can be lost to a power cut or an
        # OS crash (never to a crash of the server, and the file is never corrupted). FULL cost 7-23 ms a commit
        # here, and every read of participant data commits its audit entry (benchmarks/RESULTS-service.md).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write takes the write lock at its start: two requests taking the last seat run one after the other,
        # and neither fails upgrading a read lock. A read takes none.
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that write (`transaction(factory)`); `transaction(factory, write=False)` gives a read session."""
    return sessionmaker(bind=_writing(engine), expire_on_commit=False, autoflush=False)


def _writing(engine: Engine) -> Engine:
    return engine.execution_options(**{WRITE_OPTION: True})


_readers: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
"""The read view of each factory's writing engine, made once: `execution_options` builds a new option engine (a
fifth of a millisecond) each time."""


def _reading(factory: sessionmaker[Session]) -> Engine:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    reader = _readers.get(bind)
    if reader is None:
        reader = _readers[bind] = bind.execution_options(**{WRITE_OPTION: False})
    return reader


@contextmanager
def transaction(factory: sessionmaker[Session], write: bool = True) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any error.

    `write=False` is a read: on SQLite it takes no lock at all, so it never waits behind a long write and never
    makes one wait. A read session may not flush a change (it would have to upgrade its snapshot to the write lock,
    which fails when another writer committed meanwhile); what it adds (an audit entry of what was read) is written
    when the block ends, in a short write transaction of its own.
    """
    session = factory() if write else factory(bind=_reading(factory), info={READ_ONLY: True})
    try:
        yield session
        if write:
            session.commit()
        else:
            added = _take_added(session)
            session.commit()  # writes nothing: ends the read snapshot (and keeps what was read, unexpired)
            if added:
                with transaction(factory) as writer:
                    writer.add_all(added)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def write_connection(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A Core write transaction on the factory's engine (on SQLite `BEGIN IMMEDIATE`): committed when the block
    ends, rolled back on any error. For a short write without the ORM's unit of work (an audit entry)."""
    with _writing_bind(factory).begin() as connection:
        yield connection


def _writing_bind(factory: sessionmaker[Session]) -> Engine:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def _take_added(session: Session) -> list[Any]:
    """The new objects of a read session (taken out of it, to be written by a writer); a change is a bug."""
    if session.dirty or session.deleted:
        changed = [type(o).__name__ for o in (*session.dirty, *session.deleted)]
        raise RuntimeError(f"a read transaction changed {changed}; use a write transaction")
    added = list(session.new)
    for obj in added:
        if obj in session:  # not already taken out with its parent (an audit entry's participants cascade)
            session.expunge(obj)
    return added


@event.listens_for(Session, "before_flush")
def _no_flush_in_a_read(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.dirty or session.deleted or session.new):
        raise RuntimeError("a read transaction may not write; use transaction(factory) (a write)")


def absolute_url(url: str, base: Path | None = None) -> str:
    """The URL with a relative SQLite path made absolute (against `base`, default the working folder), so a worker
    started in another folder opens the same file; other URLs unchanged."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    path = Path(parsed.database)
    if path.is_absolute():
        return url
    return parsed.set(database=str((base or Path.cwd()) / path)).render_as_string(hide_password=False)


def is_relative_sqlite(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).is_absolute()
    )


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
