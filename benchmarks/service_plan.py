"""A nation-size plan through the service, and its areas fanned out to the queue: `make bench-service-plan` writes
benchmarks/RESULTS-service-plan.md (issue 13, items 7 and 8).

    python -m benchmarks.service_plan                       # everything: about 12 min on 2 cores
    python -m benchmarks.service_plan --parts fanout --work-limit 10 --out /tmp/plan.md

Parts (`--parts`, comma-separated):
- **cli**: `placement solve` on the nation's CSV files (`--keep-current`, as the service keeps active placements),
  `--time-limit`, in its own process: placed, fit score and the process's peak memory (`wait4`'s maxrss).
- **pool**: `placement serve` on a fresh database (`--database-url`: a PostgreSQL database, emptied; default an
  SQLite file), no queue (the local pool, `make run`); the nation is imported by `POST /imports?apply=true` (its
  size against the import limits is reported); then `POST /plans` with `time_limit_s`, and while it runs `--users`
  clients send other requests (a participant, a slot, the plan's progress, a participant's suggestions, at random,
  `--pause` apart): their latency beside the same requests before the plan (idle). The pool worker's peak memory is its
  VmHWM, read every 0.5 s.
- **queue**: the same server (same database) with `PLACEMENT_QUEUE_URL`, one `placement worker` process; the plan's
  work horse's peak memory the same way.
- **fanout**: the core's default strategy with a work limit (`--work-limit`, deterministic; the time limit 900 s is
  only the safety net), once in-process (its own two threads) and once with its areas on the Redis queue
  (`service.plans.fanout.QueueAreaExecutor`) taken by two `placement worker --areas` processes: whether the plans are
  the same, each one's time, and the time the areas spent in the queue (serialisation, Redis, waiting) apart from
  solving.

The machine is shared: the load average is written at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import matcher
from benchmarks.service import _machine
from benchmarks.serving import API, Server, free_port, stop_process

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NO_SAMPLE = HERE / "no-sample"  # no such folder: the server starts empty, the nation is imported
DAY = matcher.DEFAULT_PLAN_DATE.isoformat()


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _percentiles(values: list[float]) -> str:
    if not values:
        return "– | – | –"
    p50, p95, p99 = np.percentile(np.array(values), [50, 95, 99])
    return f"{p50:.1f} | {p95:.1f} | {p99:.1f}"


class PeakMemory:
    """The largest VmHWM (peak resident memory) of any process below `root`, read every 0.5 s while it runs."""

    def __init__(self, root: int) -> None:
        import psutil

        self._root = psutil.Process(root)
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import psutil

        while not self._stop.wait(0.5):
            with contextlib.suppress(psutil.Error):
                for child in self._root.children(recursive=True):
                    with contextlib.suppress(OSError, psutil.Error):
                        for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                            if line.startswith("VmHWM:"):
                                self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_mb


@dataclass
class Latencies:
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def all(self) -> list[float]:
        return [v for values in self.by_kind.values() for v in values]

    def rows(self, label: str) -> list[str]:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        out = [f"| {label} | all | {len(self.all())} | {_percentiles(self.all())} | {errors} |"]
        for kind, values in sorted(self.by_kind.items()):
            out.append(f"| {label} | {kind} | {len(values)} | {_percentiles(values)} | |")
        return out


def _plan_figures(placed: int, score: int, bound: int, seconds: float, memory_mb: float) -> str:
    gap = (bound - placed) / bound * 100 if bound else 0.0
    return f"{placed:,} | {score:,} | {bound:,} | {gap:.2f} % | {seconds:.1f} | {memory_mb:.0f}"


def _empty(database_url: str) -> None:
    """A PostgreSQL database emptied for the run (the server migrates it on start)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# -- cli


def run_cli(data: Path, folder: Path, time_limit: float) -> tuple[str, dict[str, Any]]:
    out = folder / "cli-plan.csv"
    command = [
        sys.executable, "-m", "placement_cli", "solve", str(data), "--date", DAY, "--time-limit", str(time_limit),
        "--keep-current", "--out", str(out), "--no-table",
    ]  # fmt: skip
    started = time.perf_counter()
    with (folder / "cli.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"placement solve failed; see {folder / 'cli.log'}")
    import csv

    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    placed = sum(1 for r in rows if r["slot_id"])
    score = sum(int(r["score"]) for r in rows if r["slot_id"])
    text = (folder / "cli.log").read_text(encoding="utf-8", errors="replace")
    import re

    found = re.search(r"placements gap [0-9.]+% \(bound (\d+)\)", text)  # what the command printed
    bound = int(found.group(1)) if found else placed
    memory_mb = usage.ru_maxrss / 1024
    figures = {"placed": placed, "score": score, "bound": bound, "seconds": seconds, "memory_mb": memory_mb}
    return (
        f"| `placement solve --keep-current --time-limit {time_limit:g}` | {_plan_figures(**figures)} | "
        "the whole command (reading the CSV files, compiling, solving, writing) |"
    ), figures


# -- the service


async def _other_requests(
    url: str,
    token: str,
    ids: list[str],
    slots: list[str],
    plan_id: int | None,
    users: int,
    pause: float,
    until: threading.Event,
) -> Latencies:
    latencies = Latencies()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)

    async def user(seed: int) -> None:
        rng = random.Random(seed)
        while not until.is_set():
            kind = rng.choice(["participant", "slot", "suggestions"] + (["plan"] if plan_id else []))
            path = {
                "participant": f"{API}/participants/{rng.choice(ids)}",
                "slot": f"{API}/slots/{rng.choice(slots)}",
                "suggestions": f"{API}/participants/{rng.choice(ids)}/suggestions?date={DAY}&k=5",
                "plan": f"{API}/plans/{plan_id}?changes_only=true",
            }[kind]
            started = time.perf_counter()
            try:
                response = await client.get(path)
                await response.aread()
                if response.status_code == 200:
                    latencies.by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
                else:
                    latencies.errors[f"{kind} HTTP {response.status_code}"] = (
                        latencies.errors.get(f"{kind} HTTP {response.status_code}", 0) + 1
                    )
            except httpx.HTTPError as exc:
                latencies.errors[type(exc).__name__] = latencies.errors.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(pause)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(user(seed) for seed in range(users)))
    return latencies


def _requests_for(seconds: float | None, *args: Any, stop: threading.Event | None = None) -> Latencies:
    until = stop or threading.Event()
    if seconds is not None:
        threading.Timer(seconds, until.set).start()
    return asyncio.run(_other_requests(*args, until))


def import_nation(server: Server, data: Path) -> tuple[str, float]:
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(data.glob("*.csv"))]
    size = sum(len(f[1][1]) for f in files)
    rows = max(sum(1 for _ in (data / name).open(encoding="utf-8")) - 1 for name in ("participants.csv",))
    started = time.perf_counter()
    response = httpx.post(
        f"{server.url}{API}/imports", params={"apply": "true"}, files=files,
        headers={"Authorization": f"Bearer {server.token()}"}, timeout=1800,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"the import failed: {response.status_code} {response.text[:500]}")
    upload_limit = int(server.env["PLACEMENT_MAX_UPLOAD_BYTES"]) / 1e6
    row_limit = int(server.env["PLACEMENT_MAX_IMPORT_ROWS"])
    limits = (
        f"upload {size / 1e6:.1f} MB of PLACEMENT_MAX_UPLOAD_BYTES {upload_limit:.0f} MB (default 21 MB); "
        f"{rows:,} participant rows of PLACEMENT_MAX_IMPORT_ROWS {row_limit:,} (the default)"
    )
    return limits, seconds


def run_plan(
    server: Server,
    ids: list[str],
    slots: list[str],
    time_limit: float,
    users: int,
    pause: float,
    memory_root: int,
    label: str,
) -> tuple[list[str], dict[str, Any], Latencies]:
    token = server.token()
    headers = {"Authorization": f"Bearer {token}"}
    httpx.get(
        f"{server.url}{API}/participants/{ids[0]}/suggestions", params={"date": DAY}, headers=headers, timeout=300
    )
    idle = _requests_for(15.0, server.url, token, ids, slots, None, users, pause)
    memory = PeakMemory(memory_root)
    created = httpx.post(
        f"{server.url}{API}/plans", json={"date": DAY, "time_limit_s": time_limit}, headers=headers, timeout=60
    )
    if created.status_code != 202:
        raise RuntimeError(f"POST /plans: {created.status_code} {created.text[:300]}")
    plan_id = int(created.json()["id"])
    started = time.perf_counter()
    stop = threading.Event()
    busy: list[Latencies] = []
    load_thread = threading.Thread(
        target=lambda: busy.append(_requests_for(None, server.url, token, ids, slots, plan_id, users, pause, stop=stop))
    )
    load_thread.start()
    status: dict[str, Any] = {}
    while time.perf_counter() - started < time_limit + 600:
        time.sleep(1.0)
        try:  # a done plan's answer holds its proposals: slow to build on a loaded machine
            answer = httpx.get(f"{server.url}{API}/plans/{plan_id}?changes_only=true", headers=headers, timeout=600)
        except httpx.HTTPError:
            continue
        status = answer.json()
        if status["status"] in ("done", "failed"):
            break
    seconds = time.perf_counter() - started
    stop.set()
    load_thread.join()
    peak = memory.stop()
    if status.get("status") != "done":  # said in the report, with the requests measured meanwhile
        row = (
            f"| `POST /plans` time_limit_s {time_limit:g}, {label} | – | – | – | – | {seconds:.1f} | {peak:.0f} | "
            f"**{status.get('status')}**: {status.get('error')} |"
        )
        return [row, *idle.rows(f"{label}, before the plan"), *busy[0].rows(f"{label}, while it runs")], {}, busy[0]
    summary = status["result"]["summary"]
    figures = {
        "placed": summary["placed"], "score": summary["total_score"], "bound": summary["placed_bound"],
        "seconds": seconds, "memory_mb": peak,
    }  # fmt: skip
    row = (
        f"| `POST /plans` time_limit_s {time_limit:g}, {label} | {_plan_figures(**figures)} | from `POST` to `done` "
        f"(solve {summary['solve_seconds']:.1f} s); memory: the solving process's peak |"
    )
    return [row, *idle.rows(f"{label}, before the plan"), *busy[0].rows(f"{label}, while it runs")], figures, busy[0]


# -- fan-out


def _area_workers(count: int, redis_url: str, queue_name: str, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PLACEMENT_QUEUE_URL": redis_url, "PLACEMENT_AREA_QUEUE_NAME": queue_name}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "placement_cli", "worker", "--areas"],
            cwd=ROOT,
            env=env,
            stdout=(folder / f"area-worker-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for n in range(count)
    ]


def run_fanout(ci: matcher.CompiledInstance, work_limit: float, redis_url: str, folder: Path) -> list[str]:
    from redis import Redis
    from rq import Queue

    from service.plans.fanout import QueueAreaExecutor, area_workers

    settings = matcher.SolverSettings(time_limit_s=900, work_limit=work_limit)
    started = time.perf_counter()
    own = matcher.solve(ci, matcher.DEFAULT_PLAN_DATE, settings=settings)
    own_s = time.perf_counter() - started
    connection = Redis.from_url(redis_url)
    queue = Queue(f"placement-areas-bench-{os.getpid()}", connection=connection)
    workers = _area_workers(2, redis_url, queue.name, folder)
    try:
        while area_workers(connection, queue) < 2:
            time.sleep(0.5)
        executor = QueueAreaExecutor(connection, queue)
        started = time.perf_counter()
        try:
            fanned = matcher.solve(
                ci, matcher.DEFAULT_PLAN_DATE, settings=settings, fan_out=matcher.AreaFanOut(executor, 2)
            )
        finally:
            executor.shutdown()
        fanned_s = time.perf_counter() - started
    finally:
        for worker in workers:
            stop_process(worker)
        queue.delete(delete_jobs=True)
        connection.close()
    same = [(r.participant_id, r.slot_id) for r in own.rows] == [(r.participant_id, r.slot_id) for r in fanned.rows]
    stats = executor.stats
    overhead = np.array(stats.overhead_by_area) * 1000 if stats.overhead_by_area else np.zeros(1)
    return [
        "| run | placed | fit score | deterministic | seconds (solve) | areas (remote / taken back) |",
        "|---|---|---|---|---|---|",
        f"| in-process (two threads) | {own.placed:,} | {own.total_score:,} | {own.deterministic} | {own_s:.1f} "
        f"({own.solve_seconds:.1f}) | – |",
        f"| fanned out to 2 `placement worker --areas` | {fanned.placed:,} | {fanned.total_score:,} | "
        f"{fanned.deterministic} | {fanned_s:.1f} ({fanned.solve_seconds:.1f}) | {stats.areas} ({stats.remote} / "
        f"{stats.taken_back}) |",
        "",
        f"- **Same plan (every participant's slot):** {'yes' if same else 'NO'}",
        f"- **Shared data, once per solve:** {stats.shared_bytes / 1e6:.1f} MB pickled and stored in "
        f"{stats.shared_s:.2f} s",
        f"- **Per area, on the solve's side:** {stats.payload_bytes / max(stats.areas, 1) / 1e3:.0f} kB pickled and "
        f"enqueued in {stats.submit_s / max(stats.areas, 1) * 1000:.1f} ms on average ({stats.submit_s:.2f} s in all)",
        f"- **Workers:** fetching and unpickling {stats.fetch_s:.2f} s in all (the shared data once per worker), "
        f"solving {stats.compute_s:.1f} s in all",
        f"- **In the queue** (round trip minus solving, per remote area): median {np.median(overhead):.1f} ms, p95 "
        f"{np.percentile(overhead, 95):.1f} ms, {stats.queue_s:.1f} s in all over {stats.remote} areas "
        "(serialisation, Redis round trips, waiting for a free worker)",
    ]


def run(args: argparse.Namespace) -> str:
    machine = _machine()
    n = args.participants
    instance = matcher.synthetic_instance(n, seed=1, slots=n // 10, sites=n // 25)
    folder = Path(tempfile.mkdtemp(prefix="bench-service-plan-"))
    data = folder / "nation"
    matcher.write_dataset(instance, data)
    ids = [p.participant_id for p in instance.participants]
    slots = [s.slot_id for s in instance.slots]
    call = f"matcher.synthetic_instance({n}, seed=1, slots={n // 10}, sites={n // 25})"
    lines = [
        "# A nation-size plan through the service, and its areas on the queue",
        "",
        f"Written by `{args.command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. The method is in the docstring of",
        "`benchmarks/service_plan.py`.",
        "",
        f"- **Machine:** {machine['cpu']}, {machine['cores']} cores, shared; {machine['os']}; Python "
        f"{machine['python']}; load average at the start {machine['load']} (1/5/15 min)",
        f"- **Code:** commit {machine['commit']}",
        f"- **Data:** `{call}` (default scenario): {len(instance.participants):,} participants, "
        f"{len(instance.slots):,} slots at {len(instance.sites):,} sites; plan date {DAY}",
        "",
    ]
    plan_rows: list[str] = []
    request_rows: list[str] = []
    notes: list[str] = []
    try:
        if "cli" in args.parts:
            print("cli …", flush=True)
            row, _ = run_cli(data, folder, args.time_limit)
            plan_rows.append(row)
        env = {"PLACEMENT_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024), "PLACEMENT_MAX_IMPORT_ROWS": "100000",
               "PLACEMENT_MAX_PLAN_SECONDS": "900", "PLACEMENT_LOG_LEVEL": "WARNING"}  # fmt: skip
        if "pool" in args.parts or "queue" in args.parts:
            port = args.port or free_port()
            if args.database_url:
                _empty(args.database_url)
            server = Server(
                folder, port, sample=NO_SAMPLE, database_url=args.database_url, env_extra=env, log_name="server-pool"
            )
            try:
                server.wait_ready()
                print("import …", flush=True)
                limits, import_s = import_nation(server, data)
                notes.append(f"- **Import:** `POST /imports?apply=true` of the nation's CSV files in {import_s:.1f} s; "
                             f"{limits}")  # fmt: skip
                if "pool" in args.parts:
                    print("pool plan …", flush=True)
                    rows, _, _ = run_plan(
                        server, ids, slots, args.time_limit, args.users, args.pause, server.process.pid, "local pool"
                    )
                    plan_rows.append(rows[0])
                    request_rows += rows[1:]
            finally:
                server.stop()
            if "queue" in args.parts:
                queue_env = {**env, "PLACEMENT_QUEUE_URL": args.redis_url,
                             "PLACEMENT_QUEUE_NAME": f"placement-plans-bench-{os.getpid()}",
                             "PLACEMENT_FAN_OUT_AREAS": "false"}  # fmt: skip
                server = Server(
                    folder, port, sample=NO_SAMPLE, database_url=args.database_url, env_extra=queue_env,
                    log_name="server-queue",
                )  # fmt: skip
                worker = subprocess.Popen(
                    [sys.executable, "-m", "placement_cli", "worker"], cwd=ROOT, env=server.env,
                    stdout=(folder / "worker.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
                try:
                    server.wait_ready()
                    print("queue plan …", flush=True)
                    rows, _, _ = run_plan(
                        server, ids, slots, args.time_limit, args.users, args.pause, worker.pid, "Redis queue"
                    )
                    plan_rows.append(rows[0])
                    request_rows += rows[1:]
                finally:
                    stop_process(worker)
                    server.stop()
        fan_rows: list[str] = []
        if "fanout" in args.parts:
            print("fan-out …", flush=True)
            fan_rows = run_fanout(matcher.prepare(instance), args.work_limit, args.redis_url, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    if plan_rows:
        lines += [
            "## Item 7: the plan, on the command line and through the service",
            "",
            "| run | placed | fit score | placed bound | gap to the bound | seconds | peak memory MB | note |",
            "|---|---|---|---|---|---|---|---|",
            *plan_rows,
            "",
            *notes,
            "",
        ]
    if request_rows:
        lines += [
            f"### Other requests: {args.users} clients, {args.pause * 1000:.0f} ms between a client's requests; ms",
            "",
            "| when | request | count | p50 | p95 | p99 | errors |",
            "|---|---|---|---|---|---|---|",
            *request_rows,
            "",
        ]
    if fan_rows:
        lines += [
            f"## Item 8: the areas fanned out to the queue (work limit {args.work_limit:g}, deterministic)",
            "",
            *fan_rows,
            "",
        ]
    lines += [f"Load average at the end: {_load()} (1/5/15 min).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--parts", default="cli,pool,queue,fanout")
    parser.add_argument("--participants", type=int, default=50_000, help="the nation; slots a tenth, sites a 25th")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--work-limit", type=float, default=40.0)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between a client's requests")
    parser.add_argument("--redis-url", default=os.environ.get("PLACEMENT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL database to empty and use (default: SQLite in a temp folder)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-service-plan.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs)")
    parser.add_argument("--command", default="python -m benchmarks.service_plan")
    args = parser.parse_args(argv)
    args.parts = set(args.parts.split(","))
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
