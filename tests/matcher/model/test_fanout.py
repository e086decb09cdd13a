"""The area search's independent areas on an executor from outside the core (issue 13, item 8): the same plan as on
its own threads, for the same work limit and width; each area's call survives pickling (it may run elsewhere)."""

from __future__ import annotations

import pickle
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import matcher
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance
from matcher.model.decompose import AreaSearch, SearchLimits
from matcher.model.problem import build_problem

LIMITS = SearchLimits(exact_max_pairs=0, area_km=8.0)  # the area path, forced


class PicklingExecutor(ThreadPoolExecutor):
    """Runs each call on its own copy, as another process would: nothing is shared with the caller."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        copied = pickle.loads(pickle.dumps((fn, args, kwargs)))
        return super().submit(copied[0], *copied[1], **copied[2])


@pytest.fixture(scope="module")
def problem() -> Any:
    return build_problem(matcher.prepare(synthetic_instance(400, seed=3, scenario="tight")), DEFAULT_PLAN_DATE, None)


def test_areas_on_an_outside_executor_give_the_threads_plan(problem: Any) -> None:
    own = AreaSearch(problem, 300, limits=LIMITS, threads=2, work_limit=1.0)
    own_outcome = own.run()
    with PicklingExecutor() as executor:
        outside = AreaSearch(problem, 300, limits=LIMITS, threads=2, work_limit=1.0, executor=executor, width=2)
        outside_outcome = outside.run()
    assert executor.calls > 0  # some batches of independent areas went to it
    assert own_outcome.deterministic and outside_outcome.deterministic
    assert outside.areas_solved == own.areas_solved == 4
    assert np.array_equal(own.best, outside.best)


def test_a_wider_batch_solves_as_many_areas_within_the_work_limit(problem: Any) -> None:
    with PicklingExecutor() as executor:
        wide = AreaSearch(problem, 300, limits=LIMITS, threads=2, work_limit=1.0, executor=executor, width=4)
        outcome = wide.run()
    assert outcome.deterministic and wide.areas_solved == 4
    assert problem.objective(wide.best) >= problem.objective(matcher.model.greedy.greedy_by_score(problem))


def test_a_fan_out_needs_room_for_two_areas() -> None:
    with pytest.raises(ValueError, match="width of at least 2"):
        matcher.AreaFanOut(ThreadPoolExecutor(), width=1)
