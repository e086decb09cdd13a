"""Where imports run: a worker process of their own (a small pool beside the plan pool), not the server's process.

Reading, checking and comparing an upload of thousands of records, and writing it through the ORM, builds hundreds
of thousands of objects. In the server's process every full garbage collection then walked all of them with the GIL
held, 0.2 s (1 s on a busy machine) during which no request, `/health` included, could run (`python -m attacks
health`). In a worker that heap, and its collections, are the worker's: the server sends the files and gets the
report back.

The whole import runs there, exactly as it ran in a request's thread (`service.run_import`: the lock-free read and
comparison, then the short write on locked rows, with the `Idempotency-Key`'s claim and the audit entry in that
transaction). Only plain data crosses: the files, the user's id, the options and the claim go; the report comes
back, or the `ServiceError` (422 with its `problems`, 409, 413, a replay), answered as before.

As with the plan pool: every worker is started from one thread of the pool's own, alive as long as the pool (a
worker dies with the thread that started it, by its parent-death signal, so none outlives the service); a pool
broken by a worker's death (killed, out of memory) is replaced, and an import it held answers 503; stopping the
service kills the workers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import matcher
from service.db import models as db
from service.db.engine import absolute_url, make_engine, make_session_factory, transaction
from service.errors import Unauthorized, Unavailable
from service.idempotency.http import Claim
from service.imports import service
from service.imports.diffing import Overwrite
from service.imports.reading import UploadedFile
from service.imports.schemas import ImportReport
from service.plans.job import die_with_parent

log = logging.getLogger("service.imports")
WORKER_DIED = (
    "the import's worker process stopped (killed, or out of memory) before it answered; run the import again "
    "(a dry run shows whether it was written)"
)


@dataclass(frozen=True)
class ImportJob:
    """One import, as plain data for the worker."""

    database_url: str  # absolute: the worker opens the service's database itself
    user_id: int
    files: tuple[UploadedFile, ...]
    apply: bool
    endpoint: str
    overwrite: Overwrite | None = None
    force: bool = False
    limits: matcher.ReadLimits | None = None
    claim: Claim | None = None
    as_json: bool = False  # the report as its JSON bytes (the API's answer: nothing to serialise in the server)


_factories: dict[str, sessionmaker[Session]] = {}  # a worker's sessions, one factory per database it was sent


def _factory(url: str) -> sessionmaker[Session]:
    if url not in _factories:
        _factories[url] = make_session_factory(make_engine(url))
    return _factories[url]


def run_job(job: ImportJob) -> ImportReport | bytes:
    """The import, in a worker process: the user read again by id, then `service.run_import` as a request ran it."""
    report = _run(_factory(job.database_url), job)
    return report.model_dump_json().encode("utf-8") if job.as_json else report


def _run(factory: sessionmaker[Session], job: ImportJob) -> ImportReport:
    with transaction(factory, write=False) as session:
        user = session.get(db.User, job.user_id)
    if user is None or user.revoked_at is not None:
        raise Unauthorized("the user was removed or revoked while the import was waiting")
    return service.run_import(
        factory,
        user,
        job.files,
        apply=job.apply,
        endpoint=job.endpoint,
        overwrite=job.overwrite,
        force=job.force,
        limits=job.limits,
        claim=job.claim,
    )


def _ready() -> int:
    return 0  # a worker is up (what `start` waits for)


class ImportPool:
    """`workers` processes that run imports; `run` blocks the calling thread (a request's) until the answer."""

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._pool = self._new_pool()
        self.restarts = 0
        self.job: Callable[[ImportJob], ImportReport | bytes] = (
            run_job  # what a worker runs (a test may give a slower one)
        )
        self._in_flight = 0
        self._submissions: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._submitter = threading.Thread(target=self._submit_loop, name="import-submitter", daemon=True)
        self._submitter.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the service has threads and open connections that a fork would copy half-way.
        return ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
        )

    @property
    def in_flight(self) -> int:
        """Imports sent to the pool and not answered yet."""
        return self._in_flight

    def worker_pids(self) -> list[int]:
        with self._lock:
            return list(_processes(self._pool))

    def start(self) -> None:
        """Start a worker now, in the background (it loads the engine's modules, a few seconds), not at the first
        import."""
        self._submissions.put((_ready, (), Future()))

    def run(self, job: ImportJob) -> ImportReport | bytes:
        """The job's report (its JSON with `as_json`), or its error; 503 when its worker died before answering."""
        try:
            report: ImportReport | bytes = self._call(self.job, job)
        except BrokenProcessPool:
            raise Unavailable(WORKER_DIED) from None
        return report

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._stopping.is_set():
            raise Unavailable("the service is stopping; run the import again once it is back")
        outer: Future[Any] = Future()
        with self._lock:
            self._in_flight += 1
        try:
            self._submissions.put((fn, args, outer))
            return outer.result()
        finally:
            with self._lock:
                self._in_flight -= 1

    def _submit_loop(self) -> None:
        while (item := self._submissions.get()) is not None:
            fn, args, outer = item
            try:
                pool, inner = self._submit_now(fn, args)
            except Exception as exc:  # noqa: BLE001 (a shut-down or broken pool: the caller answers it)
                outer.set_exception(exc)
                continue
            inner.add_done_callback(functools.partial(self._done, pool, outer))

    def _submit_now(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[ProcessPoolExecutor, Future[Any]]:
        with self._lock:
            if self._stopping.is_set():
                raise Unavailable("the service is stopping; run the import again once it is back")
            pool = self._pool
            # A worker died while the pool was idle: seen by its process, or (once the executor's own thread has
            # noticed and cleared its processes) by the executor's broken flag; either way a new pool, not a 503.
            if getattr(pool, "_broken", False) or any(not p.is_alive() for p in _processes(pool).values()):
                pool = self._replace(pool)
            try:
                return pool, pool.submit(fn, *args)
            except BrokenProcessPool:
                pool = self._replace(pool)
                return pool, pool.submit(fn, *args)

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """The pool in use instead of `broken` (a new one, once per broken pool; its workers start at its first job,
        from the submitting thread)."""
        with self._lock:
            if self._pool is broken and not self._stopping.is_set():
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.restarts += 1
                log.warning("the import pool was broken (a worker died); started a new one")
            return self._pool

    def _done(self, pool: ProcessPoolExecutor, outer: Future[Any], inner: Future[Any]) -> None:
        if inner.cancelled():
            outer.set_exception(BrokenProcessPool("the import pool was stopped"))
            return
        error = inner.exception()
        if error is None:
            outer.set_result(inner.result())
            return
        if isinstance(error, BrokenProcessPool):
            log.error("an import's worker process died: %s", error)
            self._replace(pool)
        outer.set_exception(error)

    def shutdown(self) -> None:
        """Stop with the service: no new import, the workers killed (an import not committed writes nothing)."""
        self._stopping.set()
        self._submissions.put(None)
        with self._lock:
            pool = self._pool
            processes = list(_processes(pool).values())
        for process in processes:
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)
        self._submitter.join(timeout=5)


def _processes(pool: ProcessPoolExecutor) -> dict[int, Any]:
    """pid -> process of the pool's workers (the executor keeps them in `_processes`; there is no public API)."""
    return dict(getattr(pool, "_processes", None) or {})


def in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def run_import(state: Any, user: db.User, files: Sequence[UploadedFile], **options: Any) -> ImportReport:
    """An import for a request, in the app's (`state`'s) import pool; `options` are `ImportJob`'s (apply, endpoint,
    overwrite, force, limits, claim)."""
    report = _result(state, user, files, as_json=False, **options)
    assert isinstance(report, ImportReport)
    return report


def run_import_json(state: Any, user: db.User, files: Sequence[UploadedFile], **options: Any) -> bytes:
    """`run_import`'s report as its JSON, serialised in the worker (what the API answers)."""
    report = _result(state, user, files, as_json=True, **options)
    assert isinstance(report, bytes)
    return report


def _result(state: Any, user: db.User, files: Sequence[UploadedFile], **options: Any) -> ImportReport | bytes:
    """An in-memory SQLite database is not visible from another process: its imports run in the calling thread."""
    url = state.settings.database_url
    job = ImportJob(absolute_url(url), int(user.id), tuple(files), **options)
    if in_memory(url):
        report = _run(state.session_factory, job)
        return report.model_dump_json().encode("utf-8") if job.as_json else report
    pool: ImportPool = state.import_pool
    return pool.run(job)
