"""The exact MIP of the whole model, for all three levels of the objective: the `mip` strategy, and the default
strategy's proof (SCIP on small models, HiGHS beside the area search on models of moderate size)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.compiled import BoolArray
from matcher.model.highs import SolverResult, integral, solve_highs, solve_scip
from matcher.model.problem import AssignmentProblem
from matcher.model.sparse import SparseModel

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SolveOptions:
    """The settings every exact solve honours (`SolverSettings.seed` and `relative_gap`)."""

    seed: int = 0
    relative_gap: float = 0.0
    node_limit: int | None = None  # branch-and-bound nodes per MIP: a stopping point independent of the machine

    def highs(self) -> dict[str, str]:
        """HiGHS's options: only those that differ from what the engine always passes, so defaults change nothing."""
        options = {"mip_rel_gap": repr(self.relative_gap)} if self.relative_gap else {}
        if self.seed:
            options["random_seed"] = str(self.seed)
        if self.node_limit is not None:
            options["mip_max_nodes"] = str(int(self.node_limit))
        return options


def _mip(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray,
    time_limit: float,
    hint: BoolArray | None,
    solver: str,
    options: SolveOptions,
) -> SolverResult:
    if solver == "scip":
        return solve_scip(
            matrix, upper, objective, time_limit=time_limit, hint=hint, seed=options.seed,
            relative_gap=options.relative_gap, node_limit=options.node_limit,
        )  # fmt: skip
    return solve_highs(matrix, upper, objective, integer=True, time_limit=time_limit, options=options.highs())


def solve_whole_model(
    problem: AssignmentProblem,
    model: SparseModel,
    time_limit: float,
    hint: BoolArray | None = None,
    solver: str = "highs",
    options: SolveOptions | None = None,
) -> SolverResult:
    """The exact MIP of the whole model (HiGHS, or SCIP from `hint`) for all three levels of the objective.

    In one objective while `Levels.one_objective_is_safe`; otherwise in two phases: first placements and fit score
    (the two-level objective, as without holders); then, when that is proven optimal, the most stays among plans
    that place as many and score as much (two rows: `Σ x >= placed`, `Σ score x >= score`). "optimal" only when
    every phase is proven; the values are always of a plan that passed the exact check, or None."""
    options = options or SolveOptions()
    three_levels = problem.coefficients().astype(np.float64)
    if problem.levels.one_objective_is_safe():
        return _mip(model.matrix, model.upper, three_levels, time_limit, hint, solver, options)
    started = time.perf_counter()
    first = _mip(
        model.matrix, model.upper, problem.two_level_coefficients().astype(np.float64), time_limit, hint, solver,
        options,
    )  # fmt: skip
    if first.values is None or first.status != "optimal":
        return first  # its time_limited says whether the clock stopped it
    chosen = integral(first.values)
    if not model.is_feasible(chosen):
        return first  # the caller's exact check rejects it
    placed, score = int(chosen.sum()), int(problem.pairs.score[chosen].sum())
    fallback = SolverResult("feasible", first.values, first.objective, first.seconds)
    left = time_limit - (time.perf_counter() - started)
    if left <= 0.05:
        return replace(fallback, time_limited=True)  # no time left for the second phase: the clock decided
    scores = problem.pairs.score.astype(np.float64)
    matrix = sp.vstack([model.matrix, sp.csr_matrix(-np.ones((1, model.n_pairs))), sp.csr_matrix(-scores[None, :])])
    upper = np.concatenate([model.upper, [-float(placed), -float(score)]])
    second = _mip(sp.csr_matrix(matrix), upper, problem.stay.astype(np.float64), left, chosen, solver, options)
    seconds = time.perf_counter() - started
    fallback = replace(fallback, time_limited=second.time_limited)
    if second.values is None:
        return fallback
    kept = integral(second.values)
    same = int(kept.sum()) == placed and int(problem.pairs.score[kept].sum()) == score
    if not (same and model.is_feasible(kept)):
        return fallback  # a tolerance let a worse plan through: keep the proven two-level one
    if int(problem.stay[kept].sum()) < int(problem.stay[chosen].sum()):
        return fallback
    status = "optimal" if second.status == "optimal" else "feasible"
    return SolverResult(status, second.values, float(three_levels @ second.values), seconds, second.time_limited)
