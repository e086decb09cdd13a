"""Where solves run, under attack (issue 14, item 5): the local pool survives `kill -9` of its worker, stops a
stuck solve, stops its workers with the service; a plan's end is written once, by the owner of its lease; with the
Redis queue the service follows failed and abandoned jobs, and a solve dies with its worker's process group.

The slow jobs below stand in for a long solve: they take the plan as a worker does, then sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import models as db
from service.db.engine import make_engine, make_session_factory, transaction
from service.plans import repository as repo
from service.plans.job import die_with_parent, owner_name
from service.plans.runner import LocalPoolRunner, job_id
from tests.service.conftest import make_settings
from tests.service.plans.queues import REDIS_URL, fresh_queue
from tests.service.plans.test_plans import API, DAY, add_plan, check_result, plan_row, start_plan, wait_for

pytestmark = pytest.mark.slow


def slow_job(plan_id: int, database_url: str) -> None:
    """Take the plan as `run_plan` does (a lease, this process as owner), then never finish."""
    die_with_parent()
    factory = make_session_factory(make_engine(database_url))
    lease = uuid.uuid4().hex
    with transaction(factory) as session:
        assert repo.take_plan(session, plan_id, lease, owner_name())
        plan = repo.plan(session, plan_id)
        assert plan is not None
        repo.write_if_mine(session, plan_id, lease, deadline=db.utcnow() + timedelta(seconds=plan.time_limit_s + 5))
    time.sleep(120)


def pid_job(pid_file: str) -> None:
    """A job for an RQ work horse: write its pid, ask to die with its parent (as `run_plan` does), sleep."""
    die_with_parent()
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped) counts as dead.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def wait_until(check: Any, limit_s: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {limit_s} s: {what}")


def running_owner(service: Any, plan_id: int) -> int:
    """Wait until the plan is running, then the pid of the worker that owns it."""
    wait_until(lambda: plan_row(service, plan_id).status is db.PlanStatus.running, what=f"plan {plan_id} running")
    owner = plan_row(service, plan_id).owner or ""
    return int(owner.split(":")[1].split(" ")[0])


# --- the local pool ----------------------------------------------------------------------------------------------


def test_after_kill_9_of_the_idle_worker_the_next_plan_completes(service):
    runner: LocalPoolRunner = service.client.app.state.plan_runner
    headers = service.auth("coordinator")
    check_result(wait_for(service.client, headers, start_plan(service.client, headers)["id"]))
    (pid,) = runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), what="the worker is gone")
    second = start_plan(service.client, headers)
    check_result(wait_for(service.client, headers, second["id"]))
    assert runner.restarts == 1


def test_kill_9_during_a_solve_fails_that_plan_and_the_next_one_completes(service):
    runner: LocalPoolRunner = service.client.app.state.plan_runner
    headers = service.auth("coordinator")
    runner.job = slow_job
    stuck = start_plan(service.client, headers)["id"]
    pid = running_owner(service, stuck)
    assert pid in runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    failed = wait_for(service.client, headers, stuck, limit_s=30)
    assert failed["status"] == "failed" and "worker process died" in failed["error"]
    runner.job = __import__("service.plans.job", fromlist=["run_plan"]).run_plan
    check_result(wait_for(service.client, headers, start_plan(service.client, headers)["id"]))
    assert runner.restarts == 1


def test_a_worker_outlives_the_thread_that_submitted_its_plan(service):
    """A worker dies with the thread that spawned it (its parent-death signal), and a request's thread ends any
    time: every spawn must happen on the runner's own thread."""
    runner: LocalPoolRunner = service.client.app.state.plan_runner
    runner.job = slow_job
    plan_id = add_plan(service, db.PlanStatus.queued)
    released = threading.Event()

    def submit_and_end() -> None:
        runner.submit(plan_id)
        released.wait(60)

    thread = threading.Thread(target=submit_and_end)
    thread.start()
    pid = running_owner(service, plan_id)
    released.set()
    thread.join()
    time.sleep(1)
    assert alive(pid)
    assert plan_row(service, plan_id).status is db.PlanStatus.running


def test_a_solve_stuck_past_its_limit_is_killed_and_reported(service):
    runner: LocalPoolRunner = service.client.app.state.plan_runner
    headers = service.auth("coordinator")
    runner.job = slow_job
    stuck = start_plan(service.client, headers, time_limit_s=1)["id"]
    pid = running_owner(service, stuck)
    deadline = plan_row(service, stuck).deadline
    assert deadline is not None
    assert runner.stop_overdue(now=deadline - timedelta(seconds=0.5)) == []  # not yet
    assert alive(pid)
    assert runner.stop_overdue(now=deadline + timedelta(seconds=0.5)) == [stuck]
    wait_until(lambda: not alive(pid), what="the stuck worker is killed")
    failed = wait_for(service.client, headers, stuck)
    assert failed["status"] == "failed" and "time limit of 1 s" in failed["error"]
    runner.job = __import__("service.plans.job", fromlist=["run_plan"]).run_plan
    check_result(wait_for(service.client, headers, start_plan(service.client, headers)["id"]))


def test_stopping_the_service_kills_its_workers_and_fails_their_plans(service, database_url, tmp_path):
    headers = service.auth("coordinator")
    app = create_app(make_settings(database_url, tmp_path))
    with TestClient(app) as client:
        runner: LocalPoolRunner = app.state.plan_runner
        runner.job = slow_job
        stuck = start_plan(client, headers)["id"]
        pid = running_owner(service, stuck)
    # The app has stopped (its lifespan ended, as on SIGTERM): no orphan solves on.
    wait_until(lambda: not alive(pid), limit_s=10, what="the worker died with the service")
    row = plan_row(service, stuck)
    assert row.status is db.PlanStatus.failed and "service stopped" in (row.error or "")


# --- leases ------------------------------------------------------------------------------------------------------


def test_a_stale_owner_cannot_overwrite_the_end_the_service_wrote(service):
    plan_id = add_plan(service, db.PlanStatus.queued)
    mine, other = uuid.uuid4().hex, uuid.uuid4().hex
    with transaction(service.factory) as session:
        assert repo.take_plan(session, plan_id, mine, "host:1")
    with transaction(service.factory) as session:
        assert not repo.take_plan(session, plan_id, other, "host:2")  # taken once
        assert not repo.write_if_mine(session, plan_id, other, status=db.PlanStatus.done)  # not its lease
    # A restart (or the watchdog) fails the plan; the worker, still alive, then finishes.
    with transaction(service.factory) as session:
        assert repo.fail_plans(session, "the service stopped", plan_ids=[plan_id]) == 1
    with transaction(service.factory) as session:
        assert not repo.write_if_mine(session, plan_id, mine, status=db.PlanStatus.done, result={"x": 1})
        assert repo.fail_plans(session, "again", plan_ids=[plan_id]) == 0  # an ended plan keeps its end
    row = plan_row(service, plan_id)
    assert row.status is db.PlanStatus.failed and row.error == "the service stopped" and row.result is None


def test_only_the_lease_holder_finishes_a_plan(service):
    plan_id = add_plan(service, db.PlanStatus.queued)
    mine = uuid.uuid4().hex
    with transaction(service.factory) as session:
        assert repo.take_plan(session, plan_id, mine, "host:1")
    with transaction(service.factory) as session:
        assert repo.write_if_mine(session, plan_id, mine, status=db.PlanStatus.done)
    with transaction(service.factory) as session:  # written once: not even the owner writes a second end
        assert not repo.write_if_mine(session, plan_id, mine, status=db.PlanStatus.failed)
    assert plan_row(service, plan_id).status is db.PlanStatus.done


# --- the Redis queue ---------------------------------------------------------------------------------------------


@pytest.fixture
def queue_settings(database_url: str, tmp_path: Path) -> Iterator[Any]:
    with fresh_queue("placement-plans-test") as (connection, queue):
        yield make_settings(database_url, tmp_path, queue_url=REDIS_URL, queue_name=queue.name), queue, connection


def start_worker(settings: Any, tmp_path: Path) -> subprocess.Popen[bytes]:
    """`placement worker` in its own process group, with the server's settings in its environment."""
    env = {
        **os.environ,
        "PLACEMENT_QUEUE_URL": settings.queue_url,
        "PLACEMENT_QUEUE_NAME": settings.queue_name,
        "DATABASE_URL": settings.database_url,
    }
    log = (tmp_path / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "placement_cli", "worker"], env=env, stdout=log, stderr=log, start_new_session=True
    )


def test_a_failed_job_fails_its_plan_and_a_relative_database_url_is_refused(service, queue_settings):
    from rq import SimpleWorker

    settings, queue, connection = queue_settings
    with TestClient(create_app(settings)) as client:
        runner = client.app.state.plan_runner
        plan_id = add_plan(service, db.PlanStatus.queued)
        # A job as an old server sent it: a relative SQLite URL would open another, empty database.
        queue.enqueue(
            "service.plans.job.run_plan",
            plan_id,
            "sqlite:///var/placement.db",
            job_id=job_id(plan_id, settings.database_url),
        )
        SimpleWorker([queue], connection=connection).work(burst=True)
        assert runner.follow() == [plan_id]
        row = plan_row(service, plan_id)
        assert row.status is db.PlanStatus.failed and "failed in the queue" in (row.error or "")
        assert "relative" in (row.error or "")
        # The association is not left at 409.
        assert client.post(f"{API}/plans", json={"date": DAY}, headers=service.auth("coordinator")).status_code == 202


def test_an_abandoned_job_fails_its_plan_and_no_solve_outlives_the_worker(service, queue_settings, tmp_path):
    settings, queue, connection = queue_settings
    pid_file = tmp_path / "horse.pid"
    with TestClient(create_app(settings)) as client:
        runner = client.app.state.plan_runner
        plan_id = add_plan(service, db.PlanStatus.running)
        queue.enqueue(
            "tests.service.plans.test_pool.pid_job", str(pid_file), job_id=job_id(plan_id, settings.database_url)
        )
        worker = start_worker(settings, tmp_path)
        try:
            wait_until(pid_file.exists, limit_s=60, what="the work horse started the job")
            horse = int(pid_file.read_text())
            assert alive(horse)
            os.killpg(worker.pid, signal.SIGKILL)  # the worker's process group; the horse has a group of its own
        finally:
            worker.kill()
            worker.wait()
        wait_until(lambda: not alive(horse), limit_s=10, what="the solve died with its worker")
        assert plan_row(service, plan_id).status is db.PlanStatus.running  # RQ has not noticed yet
        # RQ moves a job to the failed registry once its worker's heartbeat has expired: look from an hour on.
        assert runner.follow(cleanup_at=time.time() + 3600) == [plan_id]
        row = plan_row(service, plan_id)
        assert row.status is db.PlanStatus.failed and "Abandoned" in (row.error or ""), row.error
        assert client.post(f"{API}/plans", json={"date": DAY}, headers=service.auth("coordinator")).status_code == 202


def test_placement_worker_solves_with_the_servers_settings(service, queue_settings, tmp_path):
    settings, queue, connection = queue_settings
    headers = service.auth("coordinator")
    with TestClient(create_app(settings)) as client:
        created = start_plan(client, headers)
        worker = start_worker(settings, tmp_path)
        try:
            check_result(wait_for(client, headers, created["id"], limit_s=90))
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        owner = plan_row(service, created["id"]).owner or ""
        assert " rq:" in owner, owner
