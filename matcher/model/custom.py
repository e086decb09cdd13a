"""The whole model with an objective and rows of the caller's choosing, solved exactly with CP-SAT.

The decision-support reports ask the plan's model other questions than the plan does: the most people of one group
any plan with the same number of placements could place (`matcher.fairness`), the most placements with one more
seat or supervisor hour (`matcher.capacity_value`), and the best plan that gives every group a floor. Each is the
same booleans and capacity rows (`build_sparse`) with an integer objective and a few extra linear rows, so CP-SAT
answers them exactly, in 64-bit integers, with the same deterministic search as the `cpsat` strategy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.compiled import BoolArray, IntArray
from matcher.model.cpsat import build_cpsat
from matcher.model.sparse import SparseModel


@dataclass(frozen=True)
class ExtraRow:
    """`lower <= Σ coefficient[i] * x[column[i]] <= upper` over the model's pairs."""

    column: IntArray
    coefficient: IntArray
    lower: int
    upper: int


@dataclass(frozen=True)
class CustomResult:
    chosen: BoolArray  # per pair; all False when nothing was found
    found: bool
    optimal: bool  # proven
    infeasible: bool  # proven: no plan satisfies the rows
    value: int  # the objective of `chosen`
    bound: int  # no plan does better (the value itself when optimal)
    seconds: float


def solve_custom(
    model: SparseModel,
    objective: IntArray,
    extra: list[ExtraRow] | tuple[ExtraRow, ...] = (),
    *,
    time_limit: float,
    hint: BoolArray | None = None,
    workers: int = 1,
    seed: int = 0,
) -> CustomResult:
    """max `objective @ x` subject to the model's rows and `extra`, x binary, within `time_limit` seconds."""
    started = time.perf_counter()
    n = model.n_pairs
    cp = build_cpsat(model, hint)
    proto = cp.proto
    proto.clear_objective()
    for row in extra:
        constraint = proto.constraints.add()
        constraint.linear.vars.extend(row.column.astype(np.int64).tolist())
        constraint.linear.coeffs.extend(row.coefficient.astype(np.int64).tolist())
        constraint.linear.domain.extend((int(row.lower), int(row.upper)))
    used = np.flatnonzero(objective != 0)
    proto.objective.vars.extend(used.tolist())
    proto.objective.coeffs.extend((-objective[used]).astype(np.int64).tolist())  # CP-SAT minimises
    proto.objective.scaling_factor = -1.0
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(float(time_limit), 0.01)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.interleave_search = workers > 1  # a fixed order of workers: the same answer each time
    status = solver.solve(cp)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    chosen = np.array(solver.response_proto.solution, dtype=np.int64)[:n] > 0 if found else np.zeros(n, dtype=np.bool_)
    value = int(objective[chosen].sum())
    optimal = status == cp_model.OPTIMAL
    if optimal:
        bound = value
    elif status == cp_model.INFEASIBLE:
        bound = 0
    else:
        trivial = int(objective[objective > 0].sum())  # every positive term taken: no plan does better
        proven = -int(solver.response_proto.inner_objective_lower_bound)
        bound = max(min(proven, trivial), value) if found else trivial
    return CustomResult(
        chosen, found, optimal, status == cp_model.INFEASIBLE, value, bound, time.perf_counter() - started
    )
