"""Where solves run: a local process pool (embedded default) or an RQ queue on Redis (`PLACEMENT_QUEUE_URL`).

RQ because a plan is one plain Python function call with two arguments: RQ needs only Redis, runs any importable
function, and its workers (`rq worker placement-plans`) can run on other machines that reach the database.
Celery would bring a broker abstraction and configuration we do not need; Dramatiq needs actors declared at import.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.db import models as db
from service.db.engine import absolute_url, transaction
from service.plans import repository as repo
from service.plans.job import GRACE_S, die_with_parent, owner_pid, run_plan
from service.settings import ServiceSettings

log = logging.getLogger("service.plans")
UNDER_WAY = repo.UNDER_WAY


class PlanRunner(Protocol):
    def submit(self, plan_id: int) -> None: ...
    def recover(self) -> None: ...
    def shutdown(self) -> None: ...


def mark_interrupted(factory: sessionmaker[Session], statuses: tuple[db.PlanStatus, ...]) -> int:
    """Plans left queued or running by a stopped service will never finish: say so instead of leaving them."""
    with transaction(factory) as session:
        return repo.fail_plans(
            session, "the service stopped while this plan was waiting or running; start a new plan", statuses=statuses
        )


class LocalPoolRunner:
    """Worker processes inside the service: solves never block request threads, and a crash stays in its process.

    A pool whose worker died (killed, out of memory, or stopped by the watchdog) is broken for good: it is replaced
    by a new one, and the plans it had not started yet go to the new pool. A watchdog stops a solve still running
    `GRACE_S` after its time limit. Stopping the service kills the pool's processes (none solves on as an orphan).
    """

    WATCH_EVERY_S = 1.0

    def __init__(self, settings: ServiceSettings, factory: sessionmaker[Session]) -> None:
        self._settings = settings
        self._factory = factory
        self._url = absolute_url(settings.database_url)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._futures: dict[int, tuple[Future[None], ProcessPoolExecutor]] = {}
        self.restarts = 0
        self.job: Callable[[int, str], None] = run_plan  # what a worker runs (a test may give a slower one)
        self._pool = self._new_pool()
        # Every submit (so every spawn of a worker) happens on this one thread, alive as long as the runner: a worker
        # dies with the thread that started it (its parent-death signal), and a request's thread ends any time.
        self._submissions: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._submitter = threading.Thread(target=self._submit_loop, name="plan-submitter", daemon=True)
        self._submitter.start()
        self._watchdog = threading.Thread(target=self._watch, name="plan-watchdog", daemon=True)
        self._watchdog.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the service has threads and open connections that a fork would copy half-way.
        return ProcessPoolExecutor(
            max_workers=self._settings.plan_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent,
        )

    def worker_pids(self) -> list[int]:
        with self._lock:
            return list(_processes(self._pool))

    def submit(self, plan_id: int) -> None:
        self._submissions.put(plan_id)

    def _submit_loop(self) -> None:
        while (plan_id := self._submissions.get()) is not None:
            try:
                self._submit_now(plan_id)
            except Exception:  # a plan that cannot be submitted fails, the loop goes on
                log.exception("plan %s: could not be submitted", plan_id)
                with transaction(self._factory) as session:
                    repo.fail_plans(
                        session, "the plan could not be given to a worker; start a new plan", plan_ids=[plan_id]
                    )

    def _submit_now(self, plan_id: int) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            pool = self._pool
            try:
                future = pool.submit(self.job, plan_id, self._url)
            except BrokenProcessPool:  # a worker died while the pool was idle
                pool = self._replace(pool)
                future = pool.submit(self.job, plan_id, self._url)
            self._futures[plan_id] = (future, pool)
        future.add_done_callback(functools.partial(self._done, plan_id, pool))

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """The pool in use instead of `broken` (a new one, once per broken pool)."""
        with self._lock:
            if self._pool is broken and not self._stopping.is_set():
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.restarts += 1
                log.warning("the solve pool was broken (a worker died); started a new one")
            return self._pool

    def _done(self, plan_id: int, pool: ProcessPoolExecutor, future: Future[None]) -> None:
        with self._lock:
            if self._futures.get(plan_id, (None, None))[0] is future:
                del self._futures[plan_id]
        if future.cancelled() or self._stopping.is_set():
            return
        error = future.exception()
        if error is None:
            return
        if isinstance(error, BrokenProcessPool):
            self._replace(pool)
            if self._status(plan_id) is db.PlanStatus.queued:  # never started: its worker died for another plan
                self.submit(plan_id)
                return
            message = "the solve's worker process died (killed, or out of memory); start a new plan"
        else:  # the job itself raised before it could record why
            message = f"the worker failed: {error!r}"
        log.error("plan %s: %s", plan_id, message)
        with transaction(self._factory) as session:
            repo.fail_plans(session, message, plan_ids=[plan_id])

    def _status(self, plan_id: int) -> db.PlanStatus | None:
        with transaction(self._factory, write=False) as session:
            plan = repo.plan(session, plan_id)
            return None if plan is None else plan.status

    def _watch(self) -> None:
        while not self._stopping.wait(self.WATCH_EVERY_S):
            try:
                self.stop_overdue()
            except Exception:  # the watchdog must outlive a database hiccup
                log.exception("the plan watchdog failed; trying again")

    def stop_overdue(self, now: datetime | None = None) -> list[int]:
        """Kill the worker of every plan of this pool whose solve is still running `GRACE_S` after its time limit (its
        deadline: loading the data before and writing the result after do not count); fail the plan."""
        now = now or db.utcnow()
        pids = set(self.worker_pids())
        with transaction(self._factory, write=False) as session:
            running = repo.running_plans(session)
        stopped = []
        for plan_id, limit, deadline, owner in running:
            pid = owner_pid(owner)
            if pid not in pids or deadline is None or now <= deadline:
                continue
            message = (
                f"the solve was still running {GRACE_S:g} s after its time limit of {limit:g} s and was stopped; "
                "start a new plan (with a shorter time limit, or fewer participants)"
            )
            with transaction(self._factory) as session:
                repo.fail_plans(session, message, plan_ids=[plan_id])
            log.error("plan %s: %s (worker %s killed)", plan_id, message, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the pool breaks; `_done` replaces it
            stopped.append(plan_id)
        return stopped

    def recover(self) -> None:
        count = mark_interrupted(self._factory, UNDER_WAY)
        if count:
            log.warning("marked %d interrupted plan(s) as failed", count)

    def shutdown(self) -> None:
        """Stop with the service: no new solve, the workers killed (not left solving as orphans), their plans failed."""
        self._stopping.set()
        self._submissions.put(None)
        with self._lock:
            pool, held = self._pool, list(self._futures)
            processes = list(_processes(pool).values())
        for process in processes:
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)
        if held:
            with transaction(self._factory) as session:
                repo.fail_plans(
                    session,
                    "the service stopped while this plan was waiting or running; start a new plan",
                    plan_ids=held,
                )
        self._watchdog.join(timeout=5)
        self._submitter.join(timeout=5)


def _processes(pool: ProcessPoolExecutor) -> dict[int, Any]:
    """pid -> process of the pool's workers (the executor keeps them in `_processes`; there is no public API)."""
    return dict(getattr(pool, "_processes", None) or {})


class RedisQueueRunner:
    """Solves go to an RQ queue; `placement worker` processes anywhere take them.

    The service follows the queue: a plan whose job failed, was stopped, or was abandoned (its worker died: RQ moves
    it from the started to the failed registry once its heartbeat has expired) is marked failed with the reason,
    so its association can plan again.
    """

    FOLLOW_EVERY_S = 5.0
    LOST_AFTER_S = 60.0  # a plan whose job is not in Redis this long after it was created is lost
    LOAD_ALLOWANCE_S = 120  # a job's timeout: the solve's limit + GRACE_S + this, for loading and writing

    def __init__(self, settings: ServiceSettings, factory: sessionmaker[Session]) -> None:
        from redis import Redis
        from rq import Queue

        self._settings = settings
        self._factory = factory
        self._url = absolute_url(settings.database_url)
        self._redis = Redis.from_url(settings.queue_url or "")
        self._queue = Queue(settings.queue_name, connection=self._redis)
        self._stopping = threading.Event()
        self._follower = threading.Thread(target=self._follow_loop, name="plan-follower", daemon=True)

    def submit(self, plan_id: int) -> None:
        with transaction(self._factory, write=False) as session:
            plan = repo.plan(session, plan_id)
            limit = plan.time_limit_s if plan is not None else self._settings.max_plan_seconds
        self._queue.enqueue(
            run_plan,
            plan_id,
            self._url,
            job_id=job_id(plan_id, self._url),
            job_timeout=int(limit + GRACE_S + self.LOAD_ALLOWANCE_S),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    def recover(self) -> None:
        """Workers outlive the service, so a plan is failed only when its job is gone or failed in the queue."""
        self.follow(lost_after_s=0.0)
        self._follower.start()

    def _follow_loop(self) -> None:
        while not self._stopping.wait(self.FOLLOW_EVERY_S):
            try:
                self.follow()
            except Exception:  # Redis or the database away for a moment: try again
                log.exception("following the plan queue failed; trying again")

    def follow(self, lost_after_s: float | None = None, cleanup_at: float | None = None) -> list[int]:
        """Fail every plan under way whose job failed, was stopped or cancelled, was abandoned, or is lost."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        self._queue.started_job_registry.cleanup(timestamp=cleanup_at)  # abandoned jobs -> the failed registry
        lost_after = timedelta(seconds=self.LOST_AFTER_S if lost_after_s is None else lost_after_s)
        with transaction(self._factory, write=False) as session:
            waiting = repo.plans_under_way(session)
        now = db.utcnow()
        failed: dict[int, str] = {}
        for plan_id, created in waiting:
            try:
                job = Job.fetch(job_id(plan_id, self._url), connection=self._redis)
            except NoSuchJobError:
                if created is None or now - created >= lost_after:
                    failed[plan_id] = "the plan's job was lost from the queue; start a new plan"
                continue
            status = job.get_status(refresh=True)
            if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                failed[plan_id] = f"the plan's job {status.value} in the queue ({_job_error(job)}); start a new plan"
        for plan_id, message in failed.items():
            with transaction(self._factory) as session:
                repo.fail_plans(session, message, plan_ids=[plan_id])
            log.warning("plan %s: %s", plan_id, message)
        return list(failed)

    def shutdown(self) -> None:
        self._stopping.set()
        if self._follower.is_alive():
            self._follower.join(timeout=10)
        self._redis.close()


def _job_error(job: Any) -> str:
    """The last line of the job's error (`AbandonedJobError` when its worker died), or its status."""
    result = job.latest_result()
    text = (getattr(result, "exc_string", None) or "").strip()
    return text.splitlines()[-1][:300] if text else "no error recorded"


def job_id(plan_id: int, database_url: str) -> str:
    """Plan ids are per database: the job id names the database too, so services sharing one Redis never mix jobs."""
    database = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return f"placement-plan-{database}-{plan_id}"


def make_runner(settings: ServiceSettings, factory: sessionmaker[Session]) -> PlanRunner:
    if settings.queue_url:
        return RedisQueueRunner(settings, factory)
    return LocalPoolRunner(settings, factory)
