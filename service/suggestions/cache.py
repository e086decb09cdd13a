"""The compiled instance and its occupancy, kept per association and data version (`service.db.data_version`).

Each request reads the version (one indexed row) and gets the instance compiled for it. When only placements
changed (`occupancy` moved), the catalogue already read is reused: the active placements are read again (two
columns) and the instance recompiled from memory, no table read. When anything else changed (`catalogue`), the
whole data set is read again. One thread per association rebuilds while the others wait for it, so a change costs
one rebuild however many requests arrive. Every server process keeps its own cache (one per engine, so two apps in
one process keep two, as two processes would) and checks the version on every request, so a write through any
process is seen by all of them on their next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Pool
from sqlalchemy.orm import Session

import matcher
from service.core_bridge import active_slots, load_catalogue, load_instance, with_seats
from service.db.data_version import Version, current


@dataclass(frozen=True)
class Compiled:
    compiled: matcher.CompiledInstance
    occupancy: matcher.Occupancy


@dataclass(frozen=True)
class _Entry:
    version: Version
    catalogue: matcher.Instance
    value: Compiled


@dataclass
class _Cache:
    """One engine's kept instances, one per association, and the locks that let one thread rebuild each."""

    entries: dict[tuple[str, date | None], _Entry] = field(default_factory=dict)  # (association, capacity date)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, association_id: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(association_id, threading.Lock())


_caches: WeakKeyDictionary[Pool, _Cache] = WeakKeyDictionary()
"""Keyed by the engine's pool: a read session's bind is an option view of the engine (a new object each time, see
`service.db.engine.transaction`) that shares its pool."""
_caches_guard = threading.Lock()
stats = {"hits": 0, "occupancy_rebuilds": 0, "full_rebuilds": 0, "uncached": 0}  # for tests and the benchmark


def _cache(session: Session) -> _Cache:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _caches_guard:
        cache = _caches.get(engine.pool)
        if cache is None:
            cache = _caches[engine.pool] = _Cache()
        return cache


def _compiled(instance: matcher.Instance) -> Compiled:
    ci = matcher.prepare(instance)
    occupancy = matcher.Occupancy.from_instance(ci)
    occupancy.totals(ci)  # totalled once here, not in the first request that asks
    return Compiled(ci, occupancy)


DATES_KEPT = 4  # capacity dates kept per association (today, and a few a coordinator looks ahead to)


def compiled_for(session: Session, association_id: str, on: date | None = None) -> Compiled:
    """The association's data as the core sees it now, compiled, with the seats taken; `on`: with the capacity in
    force on that date (scheduled changes effective by then). Raises `InvalidDataset` as `matcher.prepare` does."""
    version = current(session, association_id)
    if version is None:  # no version row yet: nothing can tell when the data changes, so nothing is kept
        stats["uncached"] += 1
        return _compiled(load_instance(session, association_id, on=on))
    cache = _cache(session)
    key = (association_id, on)
    entry = cache.entries.get(key)
    if entry is not None and entry.version == version:
        stats["hits"] += 1
        return entry.value
    with cache.lock(association_id):
        entry = cache.entries.get(key)  # another thread may have rebuilt it while this one waited
        if entry is not None and entry.version == version:
            stats["hits"] += 1
            return entry.value
        if entry is not None and entry.version.catalogue == version.catalogue:
            stats["occupancy_rebuilds"] += 1
            catalogue = entry.catalogue
        else:
            stats["full_rebuilds"] += 1
            catalogue = load_catalogue(session, association_id, on=on)
        value = _compiled(with_seats(catalogue, active_slots(session, association_id)))
        kept = cache.entries.get(key)
        if kept is None or not _newer(kept.version, version):  # a slow request must not put back an older one
            cache.entries.pop(key, None)
            dates = [k for k in cache.entries if k[0] == association_id]
            for old in dates[: max(0, len(dates) - DATES_KEPT + 1)]:  # the least recently built first
                del cache.entries[old]
            cache.entries[key] = _Entry(version, catalogue, value)
        return value


def _newer(kept: Version, version: Version) -> bool:
    return kept.catalogue >= version.catalogue and kept.occupancy >= version.occupancy and kept != version
