"""The solve strategies (docs/solver.md), each honouring or rejecting every setting of a solve.

`on_progress` is honoured by all: it hears of every new best plan (the MIP and greedy strategies find one, and
report it). `seed` and `relative_gap` are honoured by the strategies that search (`honours`); the others reject a
value other than the default (`SolverSettings` refuses the combination, naming it), so a setting never does
nothing silently.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from matcher.model.cpsat import solve_cpsat
from matcher.model.decompose import AreaSearch
from matcher.model.fanout import AreaFanOut
from matcher.model.greedy import greedy_by_score
from matcher.model.highs import integral
from matcher.model.outcome import SolveOutcome, SolveProgress
from matcher.model.problem import AssignmentProblem
from matcher.model.sparse import build_sparse
from matcher.model.whole import SolveOptions, solve_whole_model
from matcher.settings import SolverSettings

ProgressCallback = Callable[[SolveProgress], None]
TUNABLE = ("seed", "relative_gap", "work_limit")  # a strategy honours or rejects these (time_limit_s, workers: all)
MIP_NODES_PER_WORK = 200  # strategy 'mip': branch-and-bound nodes of HiGHS per unit of work_limit


class Strategy(ABC):
    name: ClassVar[str]
    honours: ClassVar[frozenset[str]]  # which of TUNABLE it uses; it rejects the others when not at their default

    @abstractmethod
    def solve(
        self,
        problem: AssignmentProblem,
        settings: SolverSettings,
        budget: float,
        on_progress: ProgressCallback | None,
        fan_out: AreaFanOut | None = None,
    ) -> SolveOutcome:
        """The strategy's plan for `problem` within `budget` seconds. `fan_out`: where independent areas are solved
        (only 'auto' has areas; the others solve in this process)."""

    def rejected(self, settings: SolverSettings) -> list[str]:
        """The settings given that this strategy would not honour (empty when it can run them)."""
        default = {name: SolverSettings.model_fields[name].default for name in TUNABLE}
        return [name for name in TUNABLE if name not in self.honours and getattr(settings, name) != default[name]]


def _report_once(problem: AssignmentProblem, outcome: SolveOutcome, on_progress: ProgressCallback | None) -> None:
    """For a strategy that finds one plan: report it as its one new best plan."""
    if on_progress is None or not outcome.found:
        return
    pinned = len(problem.pinned)
    on_progress(
        SolveProgress(
            seconds=outcome.solve_seconds,
            placed=int(outcome.chosen.sum()) + pinned,
            score=int(problem.pairs.score[outcome.chosen].sum()),
            placed_bound=outcome.objective_bound // problem.placement_weight + pinned,
        )
    )


def _options(settings: SolverSettings, nodes_per_work: int | None = None) -> SolveOptions:
    nodes = None
    if settings.work_limit is not None and nodes_per_work is not None:
        nodes = max(1, round(settings.work_limit * nodes_per_work))
    return SolveOptions(seed=settings.seed, relative_gap=settings.relative_gap, node_limit=nodes)


class Auto(Strategy):
    """Exact MIP when small; otherwise LP, rounding and area-by-area exact re-optimisation (`AreaSearch`)."""

    name = "auto"
    honours = frozenset({"seed", "relative_gap", "work_limit"})

    def solve(
        self,
        problem: AssignmentProblem,
        settings: SolverSettings,
        budget: float,
        on_progress: ProgressCallback | None,
        fan_out: AreaFanOut | None = None,
    ) -> SolveOutcome:
        search = AreaSearch(
            problem, budget, threads=settings.workers, options=_options(settings), on_progress=on_progress,
            work_limit=settings.work_limit,
            executor=fan_out.executor if fan_out else None, width=fan_out.width if fan_out else 2,
        )  # fmt: skip
        return search.run()


class CpSat(Strategy):
    """CP-SAT on the whole model, the greedy plan as a hint."""

    name = "cpsat"
    honours = frozenset({"seed", "relative_gap", "work_limit"})

    def solve(
        self,
        problem: AssignmentProblem,
        settings: SolverSettings,
        budget: float,
        on_progress: ProgressCallback | None,
        fan_out: AreaFanOut | None = None,
    ) -> SolveOutcome:
        return solve_cpsat(problem, settings, hint=greedy_by_score(problem), on_progress=on_progress, time_limit=budget)


class Mip(Strategy):
    """HiGHS's MIP on the whole model, zero gap unless `relative_gap` (its time limit is not always honoured on very
    large models); the third level in a phase of its own when one objective would be too large."""

    name = "mip"
    honours = frozenset({"seed", "relative_gap", "work_limit"})

    def solve(
        self,
        problem: AssignmentProblem,
        settings: SolverSettings,
        budget: float,
        on_progress: ProgressCallback | None,
        fan_out: AreaFanOut | None = None,
    ) -> SolveOutcome:
        started = time.perf_counter()
        model = build_sparse(problem)
        built = time.perf_counter()
        limit = max(budget - (built - started), 0.01)
        result = solve_whole_model(problem, model, limit, options=_options(settings, MIP_NODES_PER_WORK))
        finished = time.perf_counter()
        # HiGHS's MIP search is single-threaded and deterministic: only its time limit can make it differ.
        deterministic = not result.time_limited
        empty = np.zeros(len(problem.pairs), dtype=np.bool_)
        if result.values is None:
            return SolveOutcome(empty, False, False, 0, finished - built, deterministic)
        chosen = integral(result.values)
        if not model.is_feasible(chosen):
            return SolveOutcome(empty, False, False, 0, finished - built, deterministic)
        # Proven at a zero gap only; within a gap its bound is not read back, so the trivial one stands.
        proven = result.status == "optimal" and settings.relative_gap == 0
        bound = problem.objective(chosen) if proven else problem.trivial_bound()
        outcome = SolveOutcome(chosen, proven, True, bound, finished - built, deterministic)
        _report_once(problem, outcome, on_progress)
        return outcome


class Greedy(Strategy):
    """Best score first while it fits: no search (nothing to seed), no bound (no gap to stop at)."""

    name = "greedy"
    honours = frozenset()

    def solve(
        self,
        problem: AssignmentProblem,
        settings: SolverSettings,
        budget: float,
        on_progress: ProgressCallback | None,
        fan_out: AreaFanOut | None = None,
    ) -> SolveOutcome:
        started = time.perf_counter()
        chosen = greedy_by_score(problem)
        outcome = SolveOutcome(chosen, False, True, problem.trivial_bound(), time.perf_counter() - started, True)
        _report_once(problem, outcome, on_progress)
        return outcome


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Auto(), CpSat(), Mip(), Greedy())}
