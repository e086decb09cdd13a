"""The benchmark harness: every method on the same instances, in the same run, each in its own process.

    python -m benchmarks.run                      # region, county and the supervision-bound mid-size (make bench)
    python -m benchmarks.run --sizes region,county,midsize,nation   # make bench-full
    python -m benchmarks.run --sizes region --scenarios default --out benchmarks/runs/region.md   # a part of it
    python -m benchmarks.run --smoke              # tiny instances, a minute at most (make bench-smoke, in CI)

For each instance and method a worker process (benchmarks/worker.py) is started in a new process group. Once it has
loaded the instance it gets the size's time limit plus `GRACE_S` (or the method's own, `METHOD_GRACE_S`); past that
the whole group is killed. Its peak memory is the maximum resident set of the process and its waited-for children
(wait4). Every plan is checked by `matcher.check_plan` (the spec in plain Python) before it is scored; a plan that
breaks a rule is reported as failing and not scored. Gaps are measured against the best bound any method proved in
this run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.config import (
    ALL_SCENARIOS,
    BOUND_METHODS,
    GRACE_S,
    HERE,
    INSTANCES,
    METHOD_GRACE_S,
    METHODS,
    RUNS,
    SCENARIOS,
    SEED,
    SIZES,
    SMOKE_SIZE,
    SUGGEST_SAMPLES,
    Size,
)
from benchmarks.generate import ensure_instance
from benchmarks.machine import cpu_name, git_state, memory_gb
from benchmarks.report import chart_for, write_report
from matcher import check_plan, feasible_pairs, prepare, read_dataset
from matcher.peers import pairs_for

PYTHON = sys.executable


@dataclass
class MethodRun:
    method: str
    size: str
    scenario: str
    time_limit_s: float
    seed: int = SEED
    outcome: str = "ok"  # ok | failing | no plan | killed | error | bound only
    detail: str = ""
    build_s: float | None = None
    solve_s: float | None = None
    wall_s: float | None = None
    peak_mb: float | None = None
    placed: int | None = None
    score: int | None = None
    proven: bool | None = None
    bound: int | None = None  # weighted, whole plan
    weight: int | None = None
    trace: list[Any] = field(default_factory=list)
    violations: int = 0


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_worker(
    method: str, folder: Path, size: Size, scenario: str, work: Path, seed: int = SEED
) -> tuple[MethodRun, dict[str, Any]]:
    """One method in its own process group, killed at the deadline; its raw result and resource use."""
    limit = size.limit_of(method)
    grace = METHOD_GRACE_S.get(method, GRACE_S)
    out = work / f"{size.name}-{scenario}-seed{seed}-{method}.json"
    ready = Path(str(out) + ".ready")
    log = work / f"{size.name}-{scenario}-seed{seed}-{method}.log"
    for stale in (out, ready):
        stale.unlink(missing_ok=True)
    run = MethodRun(method, size.name, scenario, limit, seed)
    command = [PYTHON, "-m", "benchmarks.worker", method, str(folder), str(limit), str(out)]
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as log_handle:
        proc = subprocess.Popen(
            command, stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True, cwd=HERE.parent
        )
        loaded_at: float | None = None
        killed = False
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            now = time.perf_counter()
            if loaded_at is None and ready.exists():
                loaded_at = now
            # Loading a data set is not part of the limit, but it may not take forever either.
            deadline = (loaded_at + limit + grace) if loaded_at else (started + 300.0)
            if now > deadline:
                _kill_group(proc.pid)
                killed = True
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    _kill_group(proc.pid)  # anything it left behind
    run.wall_s = time.perf_counter() - (loaded_at or started)
    run.peak_mb = usage.ru_maxrss / 1024.0 if usage is not None else None
    if killed:
        run.outcome, run.detail = "killed", f"still running {limit + grace:g} s after loading"
        return run, {}
    if proc.returncode != 0 or not out.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] if log.exists() else []
        run.outcome, run.detail = "error", f"exit {proc.returncode}: {' '.join(tail)[:200]}"
        return run, {}
    raw: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    run.build_s, run.solve_s = raw.get("build_s"), raw.get("solve_s")
    run.proven, run.bound, run.weight = raw.get("proven"), raw.get("bound"), raw.get("weight")
    run.trace = raw.get("trace") or []
    run.detail = raw.get("note", "")
    if "dual_bound_to_total" in raw and run.bound is None:
        run.bound = _highs_dual_bound(log, raw)
    return run, raw


def _highs_dual_bound(log: Path, raw: dict[str, Any]) -> int | None:
    """HiGHS's own dual bound from its log ("Dual bound  X" in the solving report), as a whole-plan bound: the
    objective is integral, so `floor(X)` bounds it, and the worker says how that maps onto the whole plan's weighted
    objective (`dual_bound_to_total`: scale and offset)."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    found = re.findall(r"^\s*Dual bound\s+([-+0-9.eE]+|inf)\s*$", text, flags=re.MULTILINE)
    if not found or found[-1] == "inf":
        return None
    value = float(found[-1])
    scale, offset = raw["dual_bound_to_total"]
    return int(np.floor(value + 1e-7 * max(1.0, abs(value)))) * int(scale) + int(offset)


def score_plan(run: MethodRun, raw: dict[str, Any], instance: Any, ci: Any, on: date) -> None:
    """Check the plan against the spec, then count and score it with the core's score (not the method's)."""
    assignment = raw.get("assignment")
    if run.method in BOUND_METHODS:
        run.outcome = "bound only" if run.bound is not None else "no bound"
        return
    if assignment is None:
        run.outcome = "no plan"
        return
    violations = check_plan(instance, assignment, on)
    if violations:
        run.outcome, run.violations = "failing", len(violations)
        run.detail = f"{len(violations)} broken rules, e.g. {violations[0]}"
        return
    placed = [(ci.participant_index[p], ci.slot_index[s]) for p, s in assignment.items() if s is not None]
    people = np.array([p for p, _ in placed], dtype=np.int64)
    slots = np.array([s for _, s in placed], dtype=np.int64)
    run.placed = len(placed)
    run.score = int(pairs_for(ci, people, slots, on).score.sum()) if placed else 0


def _machine() -> dict[str, str]:
    return {
        "cpu": cpu_name(),
        "cores": str(os.cpu_count()),
        "memory": memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _versions() -> dict[str, str]:
    import matplotlib
    import ortools
    import scipy

    commit, changed = git_state(["matcher", "benchmarks/*.py"])
    dirty = "unknown" if changed is None else ("yes" if changed else "no")
    return {
        "ortools": ortools.__version__,
        "HiGHS": "1.12.0 (bundled in ortools)",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib.__version__,
        "commit": commit or "unknown",
        "uncommitted": dirty,  # changes to the measured code (matcher/, benchmarks/*.py) when the run began
    }


def run_core(folder: Path, work: Path, samples: int) -> dict[str, Any]:
    out = work / f"core-{folder.name}.json"
    subprocess.run(
        [PYTHON, "-m", "benchmarks.core", str(folder), str(out), str(samples)], cwd=HERE.parent, check=True, timeout=900
    )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default="region,county,midsize", help="comma-separated: region, county, midsize, nation"
    )
    parser.add_argument(
        "--scenarios", default=",".join(ALL_SCENARIOS), help="of those a size has (midsize: binding only)"
    )
    parser.add_argument("--seeds", default="", help="comma-separated: only these of each size's seeds")
    parser.add_argument("--methods", default=",".join(METHODS), help="of those a size runs")
    parser.add_argument("--no-core", action="store_true", help="leave out the core timings at nation size")
    parser.add_argument("--smoke", action="store_true", help="tiny instances, short limits; report under runs/smoke")
    parser.add_argument("--out", default=None, help="report path (default benchmarks/RESULTS.md)")
    parser.add_argument("--command", default=None, help="the command to print in the report")
    args = parser.parse_args(argv)

    sizes = [SMOKE_SIZE] if args.smoke else [SIZES[s] for s in args.sizes.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    only_seeds = {int(s) for s in args.seeds.split(",") if s}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = RUNS / ("smoke" if args.smoke else stamp)
    work.mkdir(parents=True, exist_ok=True)
    report_path = Path(args.out) if args.out else (work / "RESULTS.md" if args.smoke else HERE / "RESULTS.md")
    report_path.parent.mkdir(parents=True, exist_ok=True)  # a --out in a folder that does not exist yet
    chart_path = chart_for(report_path)
    command = args.command or " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    began = time.perf_counter()
    versions = _versions()  # at the start: the code the run measures

    runs: list[MethodRun] = []
    instances: list[dict[str, Any]] = []
    for size, scenario, seed in _cases(sizes, scenarios, only_seeds):
        folder = ensure_instance(size, scenario, seed, root=(work / "instances") if args.smoke else INSTANCES)
        instance, _ = read_dataset(folder)
        ci = prepare(instance)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        on = date.fromisoformat(meta["plan_date"])
        here: list[MethodRun] = []
        for method in [m for m in methods if size.runs(m, scenario)]:
            label = f"{size.name} {scenario} seed {seed} {method}"
            print(f"[{time.perf_counter() - began:7.1f} s] {label} ...", flush=True)
            run, raw = run_worker(method, folder, size, scenario, work, seed)
            if run.outcome == "ok":
                score_plan(run, raw, instance, ci, on)
            if method == "flow" and raw.get("assignment"):
                meta["over_supervision_share"] = _over_supervision_share(instance, raw["assignment"])
            print(
                f"    {run.outcome} placed={run.placed} score={run.score} proven={run.proven} "
                f"build={run.build_s} solve={run.solve_s} peak={run.peak_mb} {run.detail[:120]}",
                flush=True,
            )
            here.append(run)
        meta["pairs"] = len(feasible_pairs(ci, on))
        instances.append(meta)
        runs.extend(here)

    core: list[dict[str, Any]] = []
    core_sizes = [] if args.no_core else [SMOKE_SIZE] if args.smoke else [SIZES["nation"]]
    for size in core_sizes:  # feasible pairs, build and suggest at nation size, in every run (no solving)
        folder = ensure_instance(size, "default", root=(work / "instances") if args.smoke else INSTANCES)
        print(f"[{time.perf_counter() - began:7.1f} s] core timings on {folder.name} ...", flush=True)
        core.append(run_core(folder, work, 200 if args.smoke else SUGGEST_SAMPLES))

    payload = {
        "command": command,
        "started_utc": stamp,
        "seconds": time.perf_counter() - began,
        "machine": _machine(),
        "versions": versions,
        "sizes": [s.__dict__ for s in sizes],
        "instances": instances,
        "runs": [r.__dict__ for r in runs],
        "core": core,
    }
    (work / "results.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    write_report(payload, report_path, chart_path)
    print(f"wrote {report_path} and {chart_path} ({time.perf_counter() - began:.0f} s)")
    return 0


def _cases(sizes: list[Size], scenarios: list[str], only_seeds: set[int]) -> list[tuple[Size, str, int]]:
    """(size, scenario, seed) to run, in order: the scenarios asked for that the size has, each of its seeds."""
    return [
        (size, scenario, seed)
        for size in sizes
        for scenario in scenarios
        if scenario in (size.scenarios or SCENARIOS)
        for seed in size.seeds_of(scenario)
        if not only_seeds or seed in only_seeds
    ]


def _over_supervision_share(instance: Any, assignment: dict[str, str | None]) -> float:
    """Share of sites with a supervision limit that the supervision-blind optimum would overrun."""
    slots = {s.slot_id: s for s in instance.slots}
    hours = {p.participant_id: p.hours_per_week for p in instance.participants}
    use: dict[str, float] = {}
    for pid, slot_id in assignment.items():
        if slot_id is not None:
            slot = slots[slot_id]
            use[slot.site_id] = use.get(slot.site_id, 0.0) + hours[pid] * slot.supervision_ratio
    limited = [t for t in instance.sites if t.supervisor_hours is not None]
    over = [t for t in limited if use.get(t.site_id, 0.0) > t.supervisor_hours + 1e-6]
    return len(over) / len(instance.sites) if instance.sites else 0.0  # of all sites, as the scenarios are named


if __name__ == "__main__":
    raise SystemExit(main())
