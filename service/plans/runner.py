"""Where solves run: a local process pool (embedded default) or an RQ queue on Redis (`PLACEMENT_QUEUE_URL`).

RQ because a plan is one plain Python function call with two arguments: RQ needs only Redis, runs any importable
function, and its workers (`rq worker placement-plans`) can run on other machines that reach the database.
Celery would bring a broker abstraction and configuration we do not need; Dramatiq needs actors declared at import.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.db import models as db
from service.db.engine import transaction
from service.plans import repository as repo
from service.plans.job import run_plan
from service.settings import ServiceSettings

log = logging.getLogger("service.plans")
UNDER_WAY = (db.PlanStatus.queued, db.PlanStatus.running)


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
    """Worker processes inside the service: solves never block request threads, and a crash stays in its process."""

    def __init__(self, settings: ServiceSettings, factory: sessionmaker[Session]) -> None:
        self._settings = settings
        self._factory = factory
        # spawn, not fork: the service has threads and open connections that a fork would copy half-way.
        self._pool = ProcessPoolExecutor(
            max_workers=settings.plan_workers, mp_context=multiprocessing.get_context("spawn")
        )

    def submit(self, plan_id: int) -> None:
        future = self._pool.submit(run_plan, plan_id, self._settings.database_url)
        future.add_done_callback(functools.partial(self._done, plan_id))

    def _done(self, plan_id: int, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:  # the worker process died (killed, out of memory) before it could record anything
            log.error("plan %s: worker failed: %r", plan_id, error)
            with transaction(self._factory) as session:
                repo.fail_plans(session, f"the worker failed: {error!r}", statuses=UNDER_WAY, plan_ids=[plan_id])

    def recover(self) -> None:
        count = mark_interrupted(self._factory, UNDER_WAY)
        if count:
            log.warning("marked %d interrupted plan(s) as failed", count)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class RedisQueueRunner:
    """Solves go to an RQ queue; `rq worker placement-plans` processes anywhere take them."""

    def __init__(self, settings: ServiceSettings, factory: sessionmaker[Session]) -> None:
        from redis import Redis
        from rq import Queue

        self._settings = settings
        self._factory = factory
        self._redis = Redis.from_url(settings.queue_url or "")
        self._queue = Queue(settings.queue_name, connection=self._redis)

    def submit(self, plan_id: int) -> None:
        timeout = int(self._settings.max_plan_seconds * 2 + 120)
        self._queue.enqueue(
            run_plan,
            plan_id,
            self._settings.database_url,
            job_id=job_id(plan_id, self._settings.database_url),
            job_timeout=timeout,
            result_ttl=3600,
        )

    def recover(self) -> None:
        """Workers outlive the service, so a plan is failed only when its job is gone or failed in the queue."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        lost: list[int] = []
        with transaction(self._factory) as session:
            waiting = repo.plan_ids_with_status(session, UNDER_WAY)
        for plan_id in waiting:
            try:
                status = Job.fetch(job_id(plan_id, self._settings.database_url), connection=self._redis).get_status()
            except NoSuchJobError:
                status = None
            if status is None or status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                lost.append(plan_id)
        if lost:
            with transaction(self._factory) as session:
                repo.fail_plans(session, "the plan's job was lost from the queue; start a new plan", plan_ids=lost)
            log.warning("marked %d lost plan(s) as failed", len(lost))

    def shutdown(self) -> None:
        self._redis.close()


def job_id(plan_id: int, database_url: str) -> str:
    """Plan ids are per database: the job id names the database too, so services sharing one Redis never mix jobs."""
    database = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return f"placement-plan-{database}-{plan_id}"


def make_runner(settings: ServiceSettings, factory: sessionmaker[Session]) -> PlanRunner:
    if settings.queue_url:
        return RedisQueueRunner(settings, factory)
    return LocalPoolRunner(settings, factory)
