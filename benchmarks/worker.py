"""One method on one instance, in its own process: `python -m benchmarks.worker METHOD INSTANCE_DIR LIMIT OUT.json`.

The harness (benchmarks/run.py) starts this in a new process group, waits until the instance is loaded (the
`OUT.json.ready` file), gives it the time limit plus a grace period, and kills the group if it overruns. The plan is
written as participant_id -> slot_id; the harness checks it with `matcher.check_plan` and scores it itself.

Times: `build` is everything from the compiled instance to a model the solver can take (feasible pairs included);
`solve` is the solver. Loading and compiling the CSV files are not counted for any method.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from benchmarks.config import CPSAT_WORKERS
from matcher import CompiledInstance, SolverSettings, prepare, read_dataset, solve
from matcher.peers import (
    AssignmentProblem,
    BoolArray,
    build_cpsat,
    build_problem,
    build_sparse,
    greedy_by_score,
    integral,
    solve_flow,
    solve_highs,
)

Result = dict[str, Any]


def _assignment(problem: AssignmentProblem, chosen: BoolArray) -> dict[str, str | None]:
    inst = problem.ci.instance
    out: dict[str, str | None] = {p.participant_id: None for p in inst.participants}
    for p, s in zip(problem.pinned.participant.tolist(), problem.pinned.slot.tolist(), strict=True):
        out[inst.participants[p].participant_id] = inst.slots[s].slot_id
    pairs = problem.pairs
    for p, s in zip(pairs.participant[chosen].tolist(), pairs.slot[chosen].tolist(), strict=True):
        out[inst.participants[p].participant_id] = inst.slots[s].slot_id
    return out


def _pinned_value(problem: AssignmentProblem) -> int:
    """The pinned people's share of the weighted objective: they are facts, outside every model."""
    return len(problem.pinned) * problem.placement_weight + problem.pinned_score


def _free_bound_to_total(problem: AssignmentProblem, bound: float | None) -> int | None:
    """A bound over the free pairs (weighted) as a bound on the whole plan, pinned people included."""
    if bound is None or not math.isfinite(bound):
        return None
    return int(math.floor(bound + 1e-7 * max(1.0, abs(bound)))) + _pinned_value(problem)


def run_engine(ci: CompiledInstance, on: date, limit: float) -> Result:
    trace: list[tuple[float, int, int]] = []
    started = time.perf_counter()
    plan = solve(
        ci,
        on,
        settings=SolverSettings(time_limit_s=limit),
        on_progress=lambda p: trace.append((time.perf_counter() - started, p.placed, p.score)),
    )
    problem = build_problem(ci, on)  # only for the weight and the ids, after the clock
    weight = problem.placement_weight
    score_bound = plan.score_bound if plan.placed == plan.placed_bound else weight - 1
    return {
        "assignment": {row.participant_id: row.slot_id for row in plan.rows},
        "build_s": plan.build_seconds,
        "solve_s": plan.solve_seconds,
        "proven": plan.proven_optimal,
        "bound": weight * plan.placed_bound + score_bound,
        "weight": weight,
        "trace": trace,
        "note": f"strategy {plan.strategy}",
    }


class _Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.points: list[tuple[float, float]] = []

    def on_solution_callback(self) -> None:
        self.points.append((time.perf_counter() - self.started, float(self.objective_value)))


def run_cpsat(ci: CompiledInstance, on: date, limit: float) -> Result:
    started = time.perf_counter()
    problem = build_problem(ci, on)
    model = build_sparse(problem)
    cp = build_cpsat(model)  # the plain model: no hint
    built = time.perf_counter()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit - (built - started), 0.01)
    solver.parameters.num_workers = CPSAT_WORKERS
    trace = _Trace(started)
    status = solver.solve(cp, trace)
    finished = time.perf_counter()
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    chosen = np.array(solver.response_proto.solution, dtype=np.int64)[: model.n_pairs] > 0 if found else None
    weight = problem.placement_weight
    return {
        "assignment": _assignment(problem, chosen) if chosen is not None else None,
        "build_s": built - started,
        "solve_s": finished - built,
        "proven": status == cp_model.OPTIMAL,
        "bound": _free_bound_to_total(problem, solver.best_objective_bound) if found else None,
        "weight": weight,
        "trace": [(t, int(v) // weight, int(v) % weight) for t, v in trace.points],
        "note": f"{CPSAT_WORKERS} workers, status {solver.status_name(status)}",
    }


def run_mip(ci: CompiledInstance, on: date, limit: float) -> Result:
    started = time.perf_counter()
    problem = build_problem(ci, on)
    model = build_sparse(problem)
    objective = problem.coefficients().astype(np.float64)
    built = time.perf_counter()
    # HiGHS logs to this process's stdout (the harness keeps it); its dual bound is read from there.
    result = solve_highs(
        model.matrix, model.upper, objective, integer=True, time_limit=max(limit - (built - started), 0.01), log=True
    )
    finished = time.perf_counter()
    sys.stdout.flush()
    chosen = integral(result.values) if result.values is not None else None
    proven = result.status == "optimal"
    bound = result.objective if proven else None
    return {
        "assignment": _assignment(problem, chosen) if chosen is not None else None,
        "build_s": built - started,
        "solve_s": finished - built,
        "proven": proven,
        "bound": _free_bound_to_total(problem, bound),
        "weight": problem.placement_weight,
        "trace": [],
        "note": f"HiGHS status {result.status}",
        # HiGHS's dual bound is read from its log by the harness: bound = floor(dual) * scale + offset.
        "dual_bound_to_total": [1, _pinned_value(problem)],
    }


def run_placements(ci: CompiledInstance, on: date, limit: float) -> Result:
    """A bound, no plan: HiGHS's MIP of the most placements alone (every rule, no fit score), and its dual bound.

    On supervision-bound instances the LP relaxation can fill every limited site with a fraction of one more person;
    HiGHS's cuts on the supervision rows take much of that back, which shows how far from the LP bound any plan must
    stay (benchmarks/RESULTS-nation.md, nation tight). No plan places more than `P` = floor(its bound), and any
    plan's value beyond its placements is below the placement weight `W`, so `W × P + W − 1` bounds the weighted
    objective (as the engine's own bound on big models, docs/solver.md)."""
    started = time.perf_counter()
    problem = build_problem(ci, on)
    model = build_sparse(problem)
    built = time.perf_counter()
    result = solve_highs(
        model.matrix,
        model.upper,
        np.ones(model.n_pairs),
        integer=True,
        time_limit=max(limit - (built - started), 0.01),
        log=True,
    )
    finished = time.perf_counter()
    sys.stdout.flush()
    w = problem.placement_weight
    # Proven (small instances): its optimum is the bound; otherwise the harness reads HiGHS's dual bound from the log.
    optimum = result.objective if result.status == "optimal" else None
    bound = _free_bound_to_total(problem, w * optimum + w - 1) if optimum is not None else None
    return {
        "assignment": None,
        "build_s": built - started,
        "solve_s": finished - built,
        "proven": None,
        "bound": bound,
        "weight": w,
        "trace": [],
        "note": f"HiGHS status {result.status}",
        "dual_bound_to_total": [w, w - 1 + _pinned_value(problem)],
    }


def run_greedy(ci: CompiledInstance, on: date, limit: float) -> Result:
    started = time.perf_counter()
    problem = build_problem(ci, on)
    built = time.perf_counter()
    chosen = greedy_by_score(problem)
    finished = time.perf_counter()
    return {
        "assignment": _assignment(problem, chosen),
        "build_s": built - started,
        "solve_s": finished - built,
        "proven": False,
        "bound": None,
        "weight": problem.placement_weight,
        "trace": [],
        "note": "",
    }


def run_flow(ci: CompiledInstance, on: date, limit: float) -> Result:
    started = time.perf_counter()
    problem = build_problem(ci, on)
    problem_built = time.perf_counter()
    outcome = solve_flow(problem)
    return {
        "assignment": _assignment(problem, outcome.chosen) if outcome.optimal else None,
        "build_s": problem_built - started + outcome.build_seconds,
        "solve_s": outcome.solve_seconds,
        "proven": False,  # optimal for the relaxation only
        "bound": None,
        "weight": problem.placement_weight,
        "trace": [],
        "note": "optimal for the relaxation" if outcome.optimal else "flow solver failed",
    }


def run_lp(ci: CompiledInstance, on: date, limit: float) -> Result:
    started = time.perf_counter()
    problem = build_problem(ci, on)
    model = build_sparse(problem)
    # The exact placement weight: the bound of the lexicographic objective.
    objective = problem.coefficients().astype(np.float64)
    built = time.perf_counter()
    result = solve_highs(
        model.matrix,
        model.upper,
        objective,
        integer=False,
        time_limit=max(limit - (built - started), 0.01),
        options={"solver": "simplex", "simplex_strategy": "1"},
    )
    finished = time.perf_counter()
    optimal = result.status == "optimal"
    return {
        "assignment": None,
        "build_s": built - started,
        "solve_s": finished - built,
        "proven": None,
        "bound": _free_bound_to_total(problem, result.objective) if optimal else None,
        "weight": problem.placement_weight,
        "trace": [],
        "note": "HiGHS dual simplex" + ("" if optimal else f", status {result.status}"),
        "lp_value": result.objective,
    }


RUNNERS: dict[str, Callable[[CompiledInstance, date, float], Result]] = {
    "engine": run_engine,
    "cpsat": run_cpsat,
    "mip": run_mip,
    "greedy": run_greedy,
    "flow": run_flow,
    "lp": run_lp,
    "placements": run_placements,
}


def main(argv: list[str]) -> int:
    method, folder, limit_text, out_path = argv
    out = Path(out_path)
    instance, _ = read_dataset(folder)
    meta = json.loads((Path(folder) / "meta.json").read_text(encoding="utf-8"))
    ci = prepare(instance)
    on = date.fromisoformat(meta["plan_date"])
    Path(out_path + ".ready").write_text(f"{time.time()}\n", encoding="utf-8")
    result = RUNNERS[method](ci, on, float(limit_text))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
