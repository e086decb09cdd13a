"""The default strategy's areas on the queue's workers: a `concurrent.futures.Executor` backed by RQ.

A plan's solve (in a `placement worker` or the local pool) gives the core this executor (`matcher.AreaFanOut`); the
core submits each batch of independent areas to it as plain calls. The big immutable part of a call — the problem
and its sparse model — is stored once per solve in Redis (a key with a TTL) and named in each area's job by that
key only; an area worker (`placement worker --areas`, one process that keeps what it fetched) fetches it on its
first area of that solve. Each area's job carries the rest (the plan being improved, the rows' activity: about a
byte per pair) and its result comes back on a Redis list of the solve, not through RQ's result store.

No worker is ever waited for forever: a job no worker has claimed after `steal_after_s` (all busy, or none
running) is claimed and solved by the solve itself, and so is one whose job failed or vanished. A claim is one
`SET NX`, so an area is solved once. The core applies areas in a fixed order: the plan does not depend on who
solved which (docs/solver.md, "Areas on other processes").
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import matcher
from service.settings import ServiceSettings

log = logging.getLogger("service.plans")
SHARED = matcher.AREA_SHARED_TYPES  # immutable during a solve: sent once, named by key
TTL_S = 3600  # every key of a solve expires by then, even if the solve's process died
KEPT_SOLVES = 2  # an area worker keeps the shared data of this many solves
RESULT_WAIT_S = 0.5  # the listener's wait for a result before it looks for areas to take back


@dataclass
class FanOutStats:
    """Where the fan-out's time went (seconds, summed over areas unless said)."""

    areas: int = 0
    remote: int = 0  # solved by an area worker
    taken_back: int = 0  # solved by the solve itself (no worker claimed it in time, or its job failed)
    shared_bytes: int = 0
    shared_s: float = 0.0  # pickling and storing the shared data (once per solve)
    payload_bytes: int = 0
    submit_s: float = 0.0  # pickling and enqueueing each area
    fetch_s: float = 0.0  # workers: fetching and unpickling (the shared data the first time only)
    compute_s: float = 0.0  # workers: the area's solve itself
    round_trip_s: float = 0.0  # from submit to result on the solve's side, remote areas
    overhead_by_area: list[float] = field(default_factory=list)  # round trip minus compute, remote areas

    @property
    def queue_s(self) -> float:
        """The time an area spent in the queue and not solving, summed: serialisation, Redis, waiting for a worker."""
        return self.round_trip_s - self.compute_s


@dataclass
class _Task:
    number: int
    job_id: str
    payload: bytes
    future: Future[Any]
    submitted: float
    enqueued: bool = False  # its job is in the queue (only then may it be taken back)


class _SharingPickler(pickle.Pickler):
    """Pickles a call, naming each shared object by its key (storing it on first sight)."""

    def __init__(self, file: io.BytesIO, share: Callable[[object], str], top: object = None) -> None:
        super().__init__(file, protocol=5)
        self._share, self._top = share, top

    def persistent_id(self, obj: object) -> str | None:
        if obj is not self._top and isinstance(obj, SHARED):
            return self._share(obj)
        return None


class _SharedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, load: Callable[[str], object]) -> None:
        super().__init__(file)
        self._load = load

    def persistent_load(self, pid: Any) -> object:
        return self._load(str(pid))


class QueueAreaExecutor(Executor):
    """Areas of one solve as RQ jobs on `queue` (see the module's docstring). Shut down at the solve's end."""

    def __init__(self, connection: Any, queue: Any, *, steal_after_s: float = 2.0, job_timeout_s: int = 600) -> None:
        self._redis, self._queue = connection, queue
        solve = uuid.uuid4().hex
        self.prefix = f"placement-area:{solve}"
        self.job_prefix = f"placement-area-{solve}"  # RQ job ids: letters, digits, - and _
        self.results_key = f"{self.prefix}:results"
        self.steal_after_s, self._job_timeout = steal_after_s, job_timeout_s
        self.stats = FanOutStats()
        self._shared: dict[int, tuple[object, str]] = {}  # id -> (the object, kept alive so ids stay unique; key)
        self._keys = itertools.count()
        self._tasks: dict[int, _Task] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None

    # -- the solve's side

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        started = time.perf_counter()
        buffer = io.BytesIO()
        _SharingPickler(buffer, self._share).dump((fn, args, kwargs))
        number = next(self._numbers)
        task = _Task(number, f"{self.job_prefix}-{number}", buffer.getvalue(), Future(), started)
        with self._lock:
            self._tasks[number] = task
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="area-results", daemon=True)
                self._listener.start()
        self._queue.enqueue(
            run_area, self.prefix, number, task.payload,
            job_id=task.job_id, job_timeout=self._job_timeout, result_ttl=0, failure_ttl=TTL_S, ttl=TTL_S,
        )  # fmt: skip
        task.enqueued = True
        self.stats.areas += 1
        self.stats.payload_bytes += len(task.payload)
        self.stats.submit_s += time.perf_counter() - started
        return task.future

    def _share(self, obj: object) -> str:
        known = self._shared.get(id(obj))
        if known is not None:
            return known[1]
        started = time.perf_counter()
        key = f"{self.prefix}:shared:{next(self._keys)}"
        self._shared[id(obj)] = (obj, key)  # before pickling it: an object that holds another names it by its key
        buffer = io.BytesIO()
        _SharingPickler(buffer, self._share, top=obj).dump(obj)
        self._redis.set(key, buffer.getvalue(), ex=TTL_S)
        self.stats.shared_bytes += buffer.tell()
        self.stats.shared_s += time.perf_counter() - started
        return key

    def _local_object(self, key: str) -> object:
        for obj, known in self._shared.values():
            if known == key:
                return obj
        raise LookupError(f"no shared object {key} in this solve")

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._redis.blpop([self.results_key], timeout=RESULT_WAIT_S)
                if item is not None:
                    self._settle(pickle.loads(item[1]))
                self._take_back()
            except Exception:  # Redis away: every waiting area is taken back, the solve goes on
                log.exception("area results: Redis failed; solving the waiting areas here")
                self._take_back(everything=True)
                self._stopping.wait(RESULT_WAIT_S)

    def _settle(self, message: tuple[int, bool, Any, float, float]) -> None:
        number, ok, value, fetch_s, compute_s = message
        with self._lock:
            task = self._tasks.pop(number, None)
        if task is None or task.future.done():
            return
        self.stats.remote += 1
        self.stats.fetch_s += fetch_s
        self.stats.compute_s += compute_s
        round_trip = time.perf_counter() - task.submitted
        self.stats.round_trip_s += round_trip
        self.stats.overhead_by_area.append(round_trip - compute_s)
        if ok:
            task.future.set_result(value)
        else:  # the area itself failed on the worker: solve it here, where its error is the core's to raise
            log.warning("area %s failed on a worker (%s); solving it here", number, value)
            self._solve_here(task)

    def _take_back(self, everything: bool = False) -> None:
        """Solve here each area no worker claimed in `steal_after_s`, or whose job failed or is gone."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        now = time.perf_counter()
        with self._lock:
            waiting = [
                t
                for t in self._tasks.values()
                if t.enqueued and (now - t.submitted >= self.steal_after_s or everything)
            ]
        for task in waiting:
            mine = everything
            if not mine:
                mine = bool(self._redis.set(f"{self.prefix}:claim:{task.number}", "solve", nx=True, ex=TTL_S))
            if not mine and now - task.submitted >= 5 * self.steal_after_s:
                try:  # claimed by a worker: wait for it unless its job failed or vanished
                    status = Job.fetch(task.job_id, connection=self._redis).get_status(refresh=True)
                    mine = status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
                except NoSuchJobError:
                    mine = True
            if mine:
                with self._lock:
                    if self._tasks.pop(task.number, None) is None:
                        continue
                with contextlib.suppress(Exception):  # its job, unclaimed or failed, leaves the queue
                    self._queue.remove(task.job_id)
                    Job.fetch(task.job_id, connection=self._redis).delete()
                self._solve_here(task)

    def _solve_here(self, task: _Task) -> None:
        self.stats.taken_back += 1
        try:
            fn, args, kwargs = _SharedUnpickler(io.BytesIO(task.payload), self._local_object).load()
            task.future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # the core's own error, raised where it waits for the area
            task.future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._stopping.set()
        if self._listener is not None and wait:
            self._listener.join(timeout=5)
        with self._lock:
            left, self._tasks = list(self._tasks.values()), {}
        for task in left:
            task.future.cancel()
            self._queue.remove(task.job_id)
        keys = [key for _, key in self._shared.values()] + [self.results_key]
        keys += [f"{self.prefix}:claim:{n}" for n in range(next(self._numbers))]
        for start in range(0, len(keys), 1000):
            self._redis.delete(*keys[start : start + 1000])
        self._shared.clear()


# -- the area worker's side (`placement worker --areas`: one process, so what it fetched stays)

_kept: collections.OrderedDict[str, dict[str, object]] = collections.OrderedDict()  # solve prefix -> key -> object


def _fetch(connection: Any, prefix: str, key: str) -> object:
    objects = _kept.setdefault(prefix, {})
    _kept.move_to_end(prefix)
    while len(_kept) > KEPT_SOLVES:
        _kept.popitem(last=False)
    if key not in objects:
        data = connection.get(key)
        if data is None:
            raise LookupError(f"the solve's shared data {key} is gone (the solve ended, or it expired)")
        objects[key] = _SharedUnpickler(io.BytesIO(data), lambda k: _fetch(connection, prefix, k)).load()
    return objects[key]


def run_area(prefix: str, number: int, payload: bytes) -> None:
    """One area (an RQ job): solved here unless the solve took it back; its result goes to the solve's list."""
    from rq import get_current_job

    job = get_current_job()
    connection = job.connection if job is not None else None
    if connection is None:
        raise RuntimeError("run_area runs as an RQ job")
    if not connection.set(f"{prefix}:claim:{number}", "worker", nx=True, ex=TTL_S):
        return  # the solve took it back
    started = time.perf_counter()
    try:
        fn, args, kwargs = _SharedUnpickler(io.BytesIO(payload), lambda k: _fetch(connection, prefix, k)).load()
        fetched = time.perf_counter()
        value = fn(*args, **kwargs)
        message: tuple[int, bool, Any, float, float] = (
            number, True, value, fetched - started, time.perf_counter() - fetched,
        )  # fmt: skip
    except Exception as error:  # the solve solves it itself and raises the core's own error there
        message = (number, False, repr(error)[:300], time.perf_counter() - started, 0.0)
    key = f"{prefix}:results"
    connection.rpush(key, pickle.dumps(message, protocol=5))
    connection.expire(key, TTL_S)


def area_workers(connection: Any, queue: Any) -> int:
    """How many workers listen on the area queue now."""
    from rq import Worker

    return len(Worker.all(connection=connection, queue=queue))


def open_fan_out(settings: ServiceSettings) -> QueueAreaExecutor | None:
    """The executor for a solve's areas when the queue is configured and some area worker listens; else None (the
    core's own threads, the default)."""
    if not settings.queue_url or not settings.fan_out_areas:
        return None
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(settings.queue_url)
    queue = Queue(settings.area_queue_name, connection=connection)
    try:
        workers = area_workers(connection, queue)
    except Exception:  # Redis away: the solve goes on without it
        log.exception("the area queue could not be read; solving the areas here")
        workers = 0
    if workers == 0:
        connection.close()
        return None
    return QueueAreaExecutor(connection, queue)
