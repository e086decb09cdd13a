"""HiGHS and SCIP (both bundled in the ortools wheel) through `model_builder`, fed from sparse arrays.

SCIP is here for one job: small whole models with a start plan (`solve_scip`), which it proves optimal faster than
HiGHS does without one (measured in benchmarks/RESULTS.md through the engine). For HiGHS, three things the wrapper
does not do for us, handled here:
- when a MIP stops at its time limit the wrapper returns no plan, so HiGHS writes its incumbent to a file
  (`write_solution_to_file`) and we read it back;
- hints crash the bundled wrapper, so none are passed; callers keep their own incumbent and take HiGHS's plan only
  when it is better;
- the wrapper's dual values are not duals, so nothing here relies on them.
HiGHS's and SCIP's MIP searches are single-threaded and deterministic for the same model and options; a time limit
makes the stopping point depend on the machine, a node limit (`mip_max_nodes`, `limits/nodes`) does not (but it does
not bound the root node). Neither stops on `interrupt_solve` from another thread (tried: both run on to their time
limit), so every solve here is bounded by its time limit, and optionally by a node limit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from ortools.linear_solver.python import model_builder_helper as mbh

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SolverResult:
    """What HiGHS (LP or MIP) or SCIP returned."""

    status: str  # "optimal", "feasible" (stopped with a plan), "infeasible", "unknown" (stopped without a plan)
    values: FloatArray | None
    objective: float | None
    seconds: float
    time_limited: bool = False  # stopped by its time limit (not by a proof, infeasibility or a node limit)


CLOCK_SHARE = 0.9
"""A solve that ends unproven after this share of its time limit counts as stopped by the clock: its plan may differ
on a faster or a busier machine. (The wrapper does not say which limit stopped it; erring this way only ever calls a
reproducible plan not reproducible.)"""


def _clock_stopped(status: str, seconds: float, time_limit: float) -> bool:
    return status not in ("optimal", "infeasible") and seconds >= CLOCK_SHARE * time_limit


def _read_solution(path: str, n: int) -> tuple[str, FloatArray | None]:
    """HiGHS's model status line and the primal values from its solution file ("# Columns n" then "name value")."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return "", None
    lines = text.split("\n")
    model_status = lines[1].strip() if len(lines) > 1 and lines[0].strip() == "Model status" else ""
    marker = next((i for i, line in enumerate(lines) if line.startswith("# Primal solution values")), -1)
    if marker < 0 or marker + 1 >= len(lines) or lines[marker + 1].strip() != "Feasible":
        return model_status, None
    start = next((i for i in range(marker, len(lines)) if lines[i].startswith("# Columns")), -1)
    if start < 0 or int(lines[start].split()[2]) != n or len(lines) < start + 1 + n:
        return model_status, None
    values = np.array([float(line.rsplit(" ", 1)[1]) for line in lines[start + 1 : start + 1 + n]], dtype=np.float64)
    return model_status, values


def _model(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray,
    *,
    integer: bool,
    lower: FloatArray | None,
    maximize: bool,
) -> mbh.ModelBuilderHelper:
    """max (or min) objective @ x subject to lower <= matrix @ x <= upper, 0 <= x <= 1, x binary when `integer`."""
    n = int(matrix.shape[1])
    model = mbh.ModelBuilderHelper()
    rows = int(matrix.shape[0])
    model.fill_model_from_sparse_data(
        np.zeros(n),  # type: ignore[arg-type]  # the stub's shape parameter is not a dtype
        np.ones(n),  # type: ignore[arg-type]
        np.ascontiguousarray(objective, dtype=np.float64),  # type: ignore[arg-type]
        np.full(rows, -np.inf) if lower is None else np.ascontiguousarray(lower, dtype=np.float64),  # type: ignore[arg-type]
        np.ascontiguousarray(upper, dtype=np.float64),  # type: ignore[arg-type]
        sp.csr_matrix(matrix, dtype=np.float64),
    )
    model.set_maximize(maximize)
    if integer:
        for j in range(n):
            model.set_var_integrality(j, True)
    return model


def solve_scip(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray,
    *,
    time_limit: float,
    hint: NDArray[np.bool_] | None = None,
    seed: int = 0,
    relative_gap: float = 0.0,
    node_limit: int | None = None,
) -> SolverResult:
    """max objective @ x subject to matrix @ x <= upper, x binary, with SCIP from a start plan (`hint`).

        The objective must be integral: SCIP stops when its bound is within 0.5 of its plan, which then is a proof of
        optimality (`limits/gap = 0` alone would still leave the wrapper's default relative gap of 1e-4 in charge), or
        within `relative_gap` of it. `seed` shifts SCIP's random seeds. `node_limit` (`limits/nodes`) stops it after
    that many branch-and-bound nodes: a stopping point that does not depend on the machine."""
    n = int(matrix.shape[1])
    started = time.perf_counter()
    if n == 0:
        return SolverResult("optimal", np.zeros(0), 0.0, 0.0)
    model = _model(matrix, upper, objective, integer=True, lower=None, maximize=True)
    if hint is not None:
        for j, value in enumerate(hint.tolist()):
            model.add_hint(j, 1.0 if value else 0.0)
    engine = mbh.ModelSolverHelper("scip")
    engine.set_time_limit_in_seconds(max(float(time_limit), 0.01))
    # Supervision rows are scaled to integers in the tens of millions (docs/solver.md), and SCIP's default feasibility
    # tolerance (1e-6, relative) can accept a row over its limit by a few units. A tighter one (1e-9) made the region
    # proofs slower, so callers check every plan exactly instead: a bound proven on the tolerant model is still a
    # bound, so an exactly feasible "optimal" plan is optimal, and an infeasible one is rejected (decompose.py then
    # hands the time left to HiGHS).
    parameters = [f"limits/gap = {relative_gap!r}", "limits/absgap = 0.5"]
    if seed:
        parameters.append(f"randomization/randomseedshift = {seed}")
    if node_limit is not None:
        parameters.append(f"limits/nodes = {int(node_limit)}")
    engine.set_solver_specific_parameters("\n".join(parameters))
    engine.solve(model)
    status = engine.status()
    seconds = time.perf_counter() - started
    values = np.asarray(engine.variable_values(), dtype=np.float64) if engine.has_solution() else None
    if values is None:
        kind = "infeasible" if status == mbh.SolveStatus.INFEASIBLE else "unknown"
        return SolverResult(kind, None, None, seconds, _clock_stopped(kind, seconds, time_limit))
    kind = "optimal" if status == mbh.SolveStatus.OPTIMAL else "feasible"
    return SolverResult(kind, values, float(objective @ values), seconds, _clock_stopped(kind, seconds, time_limit))


def solve_highs(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray,
    *,
    integer: bool,
    time_limit: float,
    lower: FloatArray | None = None,
    maximize: bool = True,
    options: dict[str, str] | None = None,
    solver: str = "highs",
    log: bool = False,
) -> SolverResult:
    """max (or min) objective @ x subject to lower <= matrix @ x <= upper, 0 <= x <= 1, x binary when `integer`."""
    n = int(matrix.shape[1])
    started = time.perf_counter()
    if n == 0:
        return SolverResult("optimal", np.zeros(0), 0.0, 0.0)
    model = _model(matrix, upper, objective, integer=integer, lower=lower, maximize=maximize)
    engine = mbh.ModelSolverHelper(solver)
    engine.set_time_limit_in_seconds(max(float(time_limit), 0.01))
    # First, so that setting the others does not print HiGHS's banner on stdout.
    settings = {"output_flag": "false", **(options or {})} if solver == "highs" else dict(options or {})
    handle, path = (None, "")
    if integer and solver == "highs":
        settings.setdefault("mip_rel_gap", "0")
        handle, path = tempfile.mkstemp(prefix="highs-", suffix=".sol")
        os.close(handle)
        settings["write_solution_to_file"] = "true"
        settings["solution_file"] = path
    if log:
        settings["output_flag"] = "true"
        engine.enable_output(True)
    if settings:
        engine.set_solver_specific_parameters(",".join(f"{k}={v}" for k, v in settings.items()))
    model_status = ""
    values: FloatArray | None = None
    try:
        engine.solve(model)
        status = engine.status()
        if path:
            # Writing the file makes the wrapper report an unknown status: the file says what happened.
            model_status, values = _read_solution(path, n)
        elif status in (mbh.SolveStatus.OPTIMAL, mbh.SolveStatus.FEASIBLE) and engine.has_solution():
            values = np.asarray(engine.variable_values(), dtype=np.float64)
    finally:
        if path:
            with contextlib.suppress(OSError):
                os.unlink(path)
    seconds = time.perf_counter() - started
    optimal = model_status == "Optimal" if path else status == mbh.SolveStatus.OPTIMAL
    if optimal and values is not None:
        return SolverResult("optimal", values, float(objective @ values), seconds)
    if model_status == "Infeasible" or (not path and status == mbh.SolveStatus.INFEASIBLE):
        return SolverResult("infeasible", None, None, seconds)
    clock = model_status == "Time limit reached" or (not model_status and seconds >= CLOCK_SHARE * time_limit)
    if values is not None:
        return SolverResult("feasible", values, float(objective @ values), seconds, clock)
    return SolverResult("unknown", None, None, seconds, clock)


def integral(values: FloatArray) -> NDArray[np.bool_]:
    """A MIP's 0/1 values as booleans (HiGHS allows 1e-6 off integral)."""
    out: NDArray[np.bool_] = values > 0.5
    return out
