"""The same input and settings give the same plan when a work limit stops the search (issue 13, item 5), also when
the machine is busy: the second solve runs while another process keeps a core spinning, so a wall-clock limit would
stop it at another point. And a plan stopped by its time limit says it is not deterministic."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import matcher
from matcher import SolverSettings, check_plan, solve
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance
from matcher.model.decompose import AreaSearch, SearchLimits
from matcher.model.problem import build_problem
from matcher.model.whole import SolveOptions


def _spin() -> None:
    while True:
        pass


@contextmanager
def busy_core() -> Iterator[None]:
    """A process burning a core until the block ends."""
    spinner = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    spinner.start()
    try:
        yield
    finally:
        spinner.terminate()
        spinner.join()


def _rows(plan: matcher.Plan) -> list[tuple[str, str | None]]:
    return [(row.participant_id, row.slot_id) for row in plan.rows]


@pytest.fixture(scope="module")
def region() -> matcher.CompiledInstance:
    return matcher.prepare(synthetic_instance(400, seed=3, scenario="tight"))


@pytest.mark.parametrize("strategy", ["auto", "cpsat"])
def test_a_work_limit_gives_the_same_plan_under_load(region: matcher.CompiledInstance, strategy: str) -> None:
    settings = SolverSettings(strategy=strategy, work_limit=0.5, time_limit_s=300)
    quiet = solve(region, DEFAULT_PLAN_DATE, settings=settings)
    with busy_core():
        loaded = solve(region, DEFAULT_PLAN_DATE, settings=settings)
    assert quiet.deterministic and loaded.deterministic
    assert _rows(quiet) == _rows(loaded)
    assert check_plan(region.instance, dict(_rows(loaded)), DEFAULT_PLAN_DATE) == []


def test_the_area_search_under_a_work_limit_gives_the_same_plan_under_load(region: matcher.CompiledInstance) -> None:
    """The area path (forced: no model is small enough to go whole), areas side by side on two threads."""
    problem = build_problem(region, DEFAULT_PLAN_DATE, None)
    limits = SearchLimits(exact_max_pairs=0, area_km=12.0)

    def search() -> AreaSearch:
        run = AreaSearch(problem, 300, limits=limits, threads=2, options=SolveOptions(), work_limit=1.0)
        outcome = run.run()
        assert outcome.deterministic and run.areas_solved == 4  # the work limit, not the clock, stopped it
        return run

    quiet = search()
    with busy_core():
        loaded = search()
    assert np.array_equal(quiet.best, loaded.best)


def test_a_plan_the_time_limit_stops_says_it_is_not_deterministic() -> None:
    ci = matcher.prepare(synthetic_instance(1300, seed=3))
    plan = solve(ci, DEFAULT_PLAN_DATE, settings=SolverSettings(work_limit=10_000, time_limit_s=1.0))
    assert not plan.deterministic


def test_a_finished_small_solve_is_deterministic_without_a_work_limit() -> None:
    plan = solve(synthetic_instance(60, seed=1), DEFAULT_PLAN_DATE, settings=SolverSettings(time_limit_s=60))
    assert plan.proven_optimal and plan.deterministic


def test_an_area_that_finds_no_plan_within_its_work_leaves_the_plan_deterministic():
    """CP-SAT stopped by its work before any plan is as reproducible as one that found a plan: only the clock
    stopping it makes a run differ (a nation solve with work limit 40 had one such area and said 'not
    deterministic')."""
    import scipy.sparse as sp

    from matcher.model.decompose import _area_cpsat

    rng = np.random.default_rng(1)
    matrix = sp.random(60, 400, density=0.2, random_state=1, data_rvs=lambda k: rng.integers(1, 5, k)).tocsr()
    upper, objective = np.full(60, 6.0), rng.integers(1, 100, 400)
    start = np.zeros(400, dtype=np.bool_)
    plan, clock, optimal = _area_cpsat(matrix, upper, objective, start, 60.0, 0.0, 0)  # no work at all
    assert plan is None and not clock and not optimal
    plan, clock, _ = _area_cpsat(matrix, upper, objective, start, 1e-9, 10.0, 0)  # the clock, long before the work
    assert plan is None and clock
    plan, clock, _ = _area_cpsat(matrix, upper, objective, start, 60.0, 0.25, 0)
    assert plan is not None and plan.any() and not clock
    assert np.all(matrix @ plan.astype(np.float64) <= upper)
