"""The same input and settings give the same plan when a work limit stops the search (issue 13, item 5), also when
the machine is busy: each solve runs while other processes keep every core spinning, so a wall-clock limit would
stop it at another point. And a plan stopped by its time limit says it is not deterministic."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import matcher
from matcher import SolverSettings, check_plan, solve
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance


def _spin() -> None:
    while True:
        pass


@contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """`count` processes burning CPU until the block ends."""
    context = multiprocessing.get_context("spawn")
    spinners = [context.Process(target=_spin, daemon=True) for _ in range(count)]
    for process in spinners:
        process.start()
    try:
        yield
    finally:
        for process in spinners:
            process.terminate()
            process.join()


def _rows(plan: matcher.Plan) -> list[tuple[str, str | None]]:
    return [(row.participant_id, row.slot_id) for row in plan.rows]


@pytest.fixture(scope="module")
def area_sized() -> matcher.CompiledInstance:
    """Large enough for the area search (more pairs than SCIP takes whole), small enough for a test."""
    return matcher.prepare(synthetic_instance(1300, seed=3))


@pytest.mark.parametrize("strategy", ["auto", "cpsat"])
def test_a_work_limit_gives_the_same_plan_under_load(area_sized: matcher.CompiledInstance, strategy: str) -> None:
    settings = SolverSettings(strategy=strategy, work_limit=0.5, time_limit_s=300)
    quiet = solve(area_sized, DEFAULT_PLAN_DATE, settings=settings)
    with busy_cores(os.cpu_count() or 2):
        loaded = solve(area_sized, DEFAULT_PLAN_DATE, settings=settings)
    assert quiet.deterministic and loaded.deterministic
    assert _rows(quiet) == _rows(loaded)
    assert (quiet.placed, quiet.total_score) == (loaded.placed, loaded.total_score)
    assignment = {row.participant_id: row.slot_id for row in loaded.rows}
    assert check_plan(area_sized.instance, assignment, DEFAULT_PLAN_DATE) == []


def test_a_plan_the_time_limit_stops_says_it_is_not_deterministic(area_sized: matcher.CompiledInstance) -> None:
    plan = solve(area_sized, DEFAULT_PLAN_DATE, settings=SolverSettings(work_limit=10_000, time_limit_s=1.0))
    assert not plan.deterministic


def test_a_finished_small_solve_is_deterministic_without_a_work_limit() -> None:
    plan = solve(synthetic_instance(60, seed=1), DEFAULT_PLAN_DATE, settings=SolverSettings(time_limit_s=60))
    assert plan.proven_optimal and plan.deterministic
