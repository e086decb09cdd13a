"""A solve's areas fanned out to the queue's area workers (issue 13, item 8): the plan equals the in-process one for
the same work limit and width, whether a worker (`placement worker --areas`, a process of its own) or the solve itself
took the areas. Needs Redis (PLACEMENT_TEST_REDIS_URL); skipped without it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import matcher
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance
from matcher.model.decompose import AreaSearch, SearchLimits
from matcher.model.problem import build_problem
from service.plans.fanout import QueueAreaExecutor
from tests.service.plans.queues import REDIS_URL, fresh_queue

LIMITS = SearchLimits(exact_max_pairs=0, area_km=8.0)  # the area path, forced
WORK = 1.0


@pytest.fixture(scope="module")
def problem() -> Any:
    return build_problem(matcher.prepare(synthetic_instance(400, seed=3, scenario="tight")), DEFAULT_PLAN_DATE, None)


@pytest.fixture(scope="module")
def in_process(problem: Any) -> AreaSearch:
    search = AreaSearch(problem, 300, limits=LIMITS, threads=2, work_limit=WORK)
    assert search.run().deterministic
    return search


@pytest.fixture
def area_queue() -> Iterator[tuple[Any, Any]]:
    with fresh_queue("placement-areas-test") as (connection, queue):
        yield connection, queue


def _fanned_out(problem: Any, executor: QueueAreaExecutor) -> AreaSearch:
    try:
        search = AreaSearch(problem, 300, limits=LIMITS, threads=2, work_limit=WORK, executor=executor, width=2)
        assert search.run().deterministic
    finally:
        executor.shutdown()
    return search


def test_areas_solved_by_an_area_worker_give_the_in_process_plan(problem, in_process, area_queue):
    connection, queue = area_queue
    env = {**os.environ, "PLACEMENT_QUEUE_URL": REDIS_URL, "PLACEMENT_AREA_QUEUE_NAME": queue.name}
    worker = subprocess.Popen(
        [sys.executable, "-m", "placement_cli", "worker", "--areas"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        executor = QueueAreaExecutor(connection, queue, steal_after_s=120.0)  # wait for the worker to start
        fanned = _fanned_out(problem, executor)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert executor.stats.areas > 0 and executor.stats.remote == executor.stats.areas  # every one by the worker
    assert executor.stats.shared_bytes > 0  # the problem went once, by key
    assert fanned.areas_solved == in_process.areas_solved
    assert np.array_equal(fanned.best, in_process.best)
    assert not connection.keys(f"{executor.prefix}:*")  # nothing of the solve stays in Redis


def test_areas_no_worker_claims_are_solved_by_the_solve_itself(problem, in_process, area_queue):
    connection, queue = area_queue
    executor = QueueAreaExecutor(connection, queue, steal_after_s=0.0)  # no worker runs
    fanned = _fanned_out(problem, executor)
    assert executor.stats.areas > 0 and executor.stats.taken_back == executor.stats.areas
    assert np.array_equal(fanned.best, in_process.best)
    assert len(queue) == 0  # the jobs it took back are gone from the queue
