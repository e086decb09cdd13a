"""Timings of the core's building blocks on one instance: `python -m benchmarks.core INSTANCE_DIR OUT.json [SAMPLES]`.

Each step is repeated and the median kept (the first run warms caches and imports). `suggest` is timed for many
participants drawn with a fixed seed, against the seats free now; the occupancy (who holds which seat) is computed
once beforehand, as the service keeps it, so the figure is the core's own part of a request.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from ortools.linear_solver.python import model_builder_helper as mbh

from matcher import Occupancy, compile_instance, feasible_pairs, read_dataset, suggest
from matcher.peers import build_cpsat, build_problem, build_sparse

REPEATS = 3


def _median_seconds(step: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def _fill_model_builder(model: Any, objective: Any) -> mbh.ModelBuilderHelper:
    helper = mbh.ModelBuilderHelper()
    n = model.n_pairs
    helper.fill_model_from_sparse_data(
        np.zeros(n), np.ones(n), objective, np.full(model.n_rows, -np.inf), model.upper, model.matrix
    )
    return helper


def _suggest_latencies(ci: Any, on: date, samples: int) -> list[float]:
    occupancy = Occupancy.from_instance(ci)
    rng = np.random.default_rng(0)
    people = [ci.instance.participants[i].participant_id for i in rng.choice(ci.n_participants, samples)]
    for pid in people[:20]:  # warm up
        suggest(ci, pid, on, k=5, occupancy=occupancy)
    latencies = []
    for pid in people:
        t0 = time.perf_counter()
        suggest(ci, pid, on, k=5, occupancy=occupancy)
        latencies.append(time.perf_counter() - t0)
    return latencies


def measure(folder: Path, samples: int) -> dict[str, Any]:
    started = time.perf_counter()
    instance, _ = read_dataset(folder)
    read_s = time.perf_counter() - started
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    on = date.fromisoformat(meta["plan_date"])
    compile_s, ci = _median_seconds(lambda: compile_instance(instance))
    # suggest first, while the process holds what the service holds (the compiled instance and the occupancy):
    # measured after the model builds below, the garbage collector's passes over their objects showed in it.
    latencies = _suggest_latencies(ci, on, samples)
    pairs_s, pairs = _median_seconds(lambda: feasible_pairs(ci, on))
    problem_s, problem = _median_seconds(lambda: build_problem(ci, on))
    sparse_s, model = _median_seconds(lambda: build_sparse(problem))
    objective = problem.coefficients().astype(np.float64)
    fill_s, _ = _median_seconds(lambda: _fill_model_builder(model, objective))
    cpsat_s, _ = _median_seconds(lambda: build_cpsat(model), repeats=1)

    ms = np.array(latencies) * 1000.0
    return {
        "instance": folder.name,
        "participants": ci.n_participants,
        "slots": ci.n_slots,
        "sites": ci.n_sites,
        "pairs": len(pairs),
        "free_pairs": len(problem.pairs),
        "rows": model.n_rows,
        "read_s": read_s,
        "compile_s": compile_s,
        "feasible_pairs_s": pairs_s,
        "build_problem_s": problem_s,
        "sparse_model_s": sparse_s,
        "model_builder_fill_s": fill_s,
        "cpsat_proto_s": cpsat_s,
        "suggest_samples": samples,
        "suggest_ms": {
            "min": float(ms.min()),
            "p50": float(np.percentile(ms, 50)),
            "p90": float(np.percentile(ms, 90)),
            "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)),
            "max": float(ms.max()),
            "mean": float(ms.mean()),
        },
        "suggest_hist": np.histogram(ms, bins=20)[0].tolist(),
        "suggest_hist_edges": np.histogram(ms, bins=20)[1].tolist(),
    }


def main(argv: list[str]) -> int:
    folder, out = Path(argv[0]), Path(argv[1])
    samples = int(argv[2]) if len(argv) > 2 else 1000
    out.write_text(json.dumps(measure(folder, samples), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
