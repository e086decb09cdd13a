"""The CP-SAT model: one boolean per free feasible pair, one unit per rule, and a lexicographic objective.

The objective is `placement_weight * placed + Σ (fit_weight * score + stay)` with `placement_weight` larger than the
best total any plan can reach and `fit_weight` larger than the number of holders who could stay, so one more placement
outweighs every fit score and one more fit point every stay: the weighted optimum is the lexicographic optimum (see
docs/solver.md). CP-SAT's objective is in 64-bit integers, so this holds at any size the engine meets.

The model is written straight into CP-SAT's protocol buffer from the sparse rows of `matcher.model.sparse`: one call
per row, never one Python object per term (691,000 booleans: well under a second, against 11 s term by term).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from matcher.compiled import BoolArray
from matcher.model.outcome import SolveOutcome, SolveProgress
from matcher.model.problem import AssignmentProblem
from matcher.model.sparse import SparseModel, build_sparse
from matcher.rules import CAPACITY_RULES
from matcher.settings import SolverSettings


def build_cpsat(model: SparseModel, hint: BoolArray | None = None) -> cp_model.CpModel:
    """The plain model: booleans, at-most-one per person, seats per slot, supervision per site, weighted objective."""
    problem = model.problem
    n = model.n_pairs
    cp = cp_model.CpModel()
    proto = cp.proto
    if n:
        template = proto.variables.add()
        template.domain.extend((0, 1))
        proto.variables.extend([template] * (n - 1))
    matrix = model.matrix
    indptr, indices, data = matrix.indptr.tolist(), matrix.indices.tolist(), matrix.data.astype(np.int64).tolist()
    kinds, upper = model.row_kind.tolist(), model.upper.astype(np.int64).tolist()
    at_most_one = [rule.at_most_one for rule in CAPACITY_RULES]
    for r in range(model.n_rows):
        a, b = indptr[r], indptr[r + 1]
        constraint = proto.constraints.add()
        if at_most_one[kinds[r]]:
            constraint.at_most_one.literals.extend(indices[a:b])
        else:
            constraint.linear.vars.extend(indices[a:b])
            constraint.linear.coeffs.extend(data[a:b])
            constraint.linear.domain.extend((0, upper[r]))
    # CP-SAT minimises: a maximisation is written negated, with a scaling factor of -1 (as CpModel.maximize does).
    objective = proto.objective
    objective.vars.extend(range(n))
    objective.coeffs.extend((-problem.coefficients()).tolist())
    objective.scaling_factor = -1.0
    if hint is not None:
        proto.solution_hint.vars.extend(range(n))
        proto.solution_hint.values.extend(hint.astype(np.int64).tolist())
    return cp


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(
        self, problem: AssignmentProblem, on_progress: Callable[[SolveProgress], None], started: float
    ) -> None:
        super().__init__()
        self._problem = problem
        self._weight = problem.placement_weight
        self._pinned = len(problem.pinned)
        self._on_progress = on_progress
        self._started = started

    def on_solution_callback(self) -> None:
        value = int(round(self.objective_value))
        bound = int(self.best_objective_bound)
        placed, score, _ = self._problem.split(value)
        self._on_progress(
            SolveProgress(
                seconds=time.perf_counter() - self._started,
                placed=placed + self._pinned,
                score=score,
                placed_bound=bound // self._weight + self._pinned,
            )
        )


def solve_cpsat(
    problem: AssignmentProblem,
    settings: SolverSettings,
    hint: BoolArray | None = None,
    on_progress: Callable[[SolveProgress], None] | None = None,
    time_limit: float | None = None,
) -> SolveOutcome:
    started = time.perf_counter()
    model = build_sparse(problem)
    cp = build_cpsat(model, hint)
    built = time.perf_counter()

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit_s if time_limit is None else max(time_limit, 0.01)
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.relative_gap_limit = settings.relative_gap
    # Interleaved search runs the workers' tasks in fixed batches: the search is the same whatever the timing (and
    # whatever num_workers, sat_parameters.proto); one worker alone is sequential and deterministic too.
    solver.parameters.interleave_search = settings.workers > 1 or settings.work_limit is not None
    if settings.work_limit is not None:
        solver.parameters.max_deterministic_time = settings.work_limit  # the wall-clock limit is the safety net
    callback = _Reporter(problem, on_progress, started) if on_progress else None
    status = solver.solve(cp, callback)
    finished = time.perf_counter()
    # Finished (a proof), or stopped by its deterministic time: the same plan again. Stopped by the clock: not.
    finished_search = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID)
    work_done = settings.work_limit is not None and solver.response_proto.deterministic_time >= settings.work_limit * (
        1 - 1e-6
    )
    deterministic = finished_search or work_done

    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if found:
        chosen = np.array(solver.response_proto.solution, dtype=np.int64)[: model.n_pairs] > 0
    else:
        chosen = np.zeros(model.n_pairs, dtype=np.bool_)
    # The bound in exact integers (the double `best_objective_bound` loses units above 2^53): CP-SAT minimises the
    # negated objective, so its integer lower bound, negated, is ours.
    bound = -int(solver.response_proto.inner_objective_lower_bound) if found or status == cp_model.UNKNOWN else 0
    return SolveOutcome(
        chosen=chosen,
        proven_optimal=status == cp_model.OPTIMAL,
        found=found,
        objective_bound=bound,
        solve_seconds=finished - built,
        deterministic=deterministic,
    )
