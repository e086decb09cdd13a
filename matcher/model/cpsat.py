"""The CP-SAT model: one boolean per free feasible pair, one unit per rule, and a lexicographic objective.

The objective is `placement_weight * placed + score` with `placement_weight` larger than the best total score any
plan can reach, so one more placement always outweighs every fit score: the weighted optimum is the lexicographic
optimum (see docs/solver.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.compiled import BoolArray, IntArray
from matcher.model.problem import AssignmentProblem
from matcher.settings import SolverSettings


@dataclass(frozen=True)
class SolveProgress:
    """A new best plan was found."""

    seconds: float
    placed: int
    score: int
    placed_bound: int


@dataclass(frozen=True)
class SolveOutcome:
    chosen: BoolArray  # per pair of problem.pairs
    proven_optimal: bool
    found: bool
    objective_bound: int  # over free pairs only, in weighted units
    build_seconds: float
    solve_seconds: float


class PairVariables:
    """The decision variables: `chosen[i]` is 1 when pair i of the problem is in the plan."""

    def __init__(self, model: cp_model.CpModel, count: int) -> None:
        self.vars: list[cp_model.IntVar] = [model.new_bool_var(f"x{i}") for i in range(count)]

    def of(self, index: IntArray) -> list[cp_model.IntVar]:
        return [self.vars[i] for i in index.tolist()]


def _groups(keys: IntArray) -> list[IntArray]:
    """Indices grouped by key (pairs per participant, per slot, per site)."""
    if len(keys) == 0:
        return []
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    return np.split(order, bounds)


class OnePlacePerParticipant:
    @staticmethod
    def build(model: cp_model.CpModel, x: PairVariables, problem: AssignmentProblem) -> None:
        for group in _groups(problem.pairs.participant):
            if len(group) > 1:
                model.add_at_most_one(x.of(group))


class SlotSeats:
    @staticmethod
    def build(model: cp_model.CpModel, x: PairVariables, problem: AssignmentProblem) -> None:
        for group in _groups(problem.pairs.slot):
            seats = int(problem.seats_left[problem.pairs.slot[group[0]]])
            if seats < len(group):
                model.add(cp_model.LinearExpr.sum(x.of(group)) <= seats)


class SiteSupervision:
    @staticmethod
    def build(model: cp_model.CpModel, x: PairVariables, problem: AssignmentProblem) -> None:
        sites = problem.ci.s_site[problem.pairs.slot]
        for group in _groups(sites):
            capacity = int(problem.supervision_left[sites[group[0]]])
            use = problem.supervision_use[group]
            if capacity >= 0 and int(use.sum()) > capacity:
                model.add(cp_model.LinearExpr.weighted_sum(x.of(group), use.tolist()) <= capacity)


class FitScore:
    """Returns the objective's coefficients: placements first, then the fit score."""

    @staticmethod
    def coefficients(problem: AssignmentProblem) -> IntArray:
        return problem.placement_weight + problem.pairs.score


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, problem: AssignmentProblem, on_progress: Callable[[SolveProgress], None], started: float) -> None:
        super().__init__()
        self._weight = problem.placement_weight
        self._pinned = len(problem.pinned)
        self._on_progress = on_progress
        self._started = started

    def on_solution_callback(self) -> None:
        value = int(self.objective_value)
        bound = int(self.best_objective_bound)
        self._on_progress(
            SolveProgress(
                seconds=time.perf_counter() - self._started,
                placed=value // self._weight + self._pinned,
                score=value % self._weight,
                placed_bound=bound // self._weight + self._pinned,
            )
        )


def solve_cpsat(
    problem: AssignmentProblem,
    settings: SolverSettings,
    hint: BoolArray | None = None,
    on_progress: Callable[[SolveProgress], None] | None = None,
) -> SolveOutcome:
    started = time.perf_counter()
    model = cp_model.CpModel()
    x = PairVariables(model, len(problem.pairs))
    for unit in (OnePlacePerParticipant, SlotSeats, SiteSupervision):
        unit.build(model, x, problem)
    model.maximize(cp_model.LinearExpr.weighted_sum(x.vars, FitScore.coefficients(problem).tolist()))
    if hint is not None:
        for var, value in zip(x.vars, hint.tolist(), strict=True):
            model.add_hint(var, value)
    built = time.perf_counter()

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.relative_gap_limit = settings.relative_gap
    # Interleaved search runs the workers in a fixed order: the same input gives the same plan.
    solver.parameters.interleave_search = settings.workers > 1
    callback = _Reporter(problem, on_progress, started) if on_progress else None
    status = solver.solve(model, callback)
    finished = time.perf_counter()

    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if found:
        chosen = np.fromiter((solver.boolean_value(v) for v in x.vars), dtype=np.bool_, count=len(x.vars))
    else:
        chosen = np.zeros(len(x.vars), dtype=np.bool_)
    bound = int(solver.best_objective_bound) if found or status == cp_model.UNKNOWN else 0
    return SolveOutcome(
        chosen=chosen,
        proven_optimal=status == cp_model.OPTIMAL,
        found=found,
        objective_bound=bound,
        build_seconds=built - started,
        solve_seconds=finished - built,
    )
