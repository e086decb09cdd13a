"""Suggestions over HTTP at county size: `make bench-service` writes benchmarks/RESULTS-service.md.

    python -m benchmarks.service                   # 5,000 participants, 500 slots, 50 users, 60 s per phase
    python -m benchmarks.service --duration 20 --users 20 --out /tmp/service.md

What it does, in order:
1. generates the county instance of `make bench` (5,000 participants, 500 slots at 200 sites, seed 1;
   `matcher.synthetic_instance`) and writes it as CSV files;
2. starts the server as `make run` does (`python -m placement_cli serve`, uvicorn, one process) on a fresh SQLite
   database, with those files as its first-start data set (imported by the service's own loader), and reads the
   demo coordinator's token;
3. asks once for a suggestion (the cold request: the data set is read and compiled) and once more (warm);
4. **one user** phase: one user without a pause for up to 20 s: a request's own time, no queueing;
5. **users** phase: `--users` simulated coaches on loopback (httpx, asyncio, one connection each), each asking for
   the suggestions of a random participant, then reading them for a random 0.5–1.5 s (`--think`), for
   `--duration` seconds: the latency a coach feels; each user's first request falls at a random moment within
   the first mean pause (not all 50 at the same instant);
6. **saturation** phase: the same users without a pause, for `--duration` seconds: the throughput the server
   reaches and the latency when it is the bottleneck;
7. **writes** phase: as the users phase, while one coordinator places a participant and ends the placement again
   every second (each write moves the occupancy version: the instance is recompiled from memory once per write).

Latency is measured by the client from send to full response; each phase also records the server process's CPU time
(/proc), so a request's cost shows apart from the machine's other load. An error is any status but 200, or a failed or
timed-out connection. The load generator runs on the same machine as the server, so both share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

import matcher
from benchmarks.machine import cpu_name, git_state
from benchmarks.serving import API, Server, free_port

HERE = Path(__file__).resolve().parent
DAY = matcher.DEFAULT_PLAN_DATE.isoformat()


@dataclass
class Phase:
    name: str
    description: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    writes: int = 0
    server_cpu_s: float | None = None  # the server process's CPU time (user + system) over the phase

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def row(self) -> str:
        done = len(self.latencies_ms)
        errors = sum(self.errors.values())
        if done:
            p50, p95, p99 = np.percentile(np.array(self.latencies_ms), [50, 95, 99])
            figures = f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {max(self.latencies_ms):.1f}"
        else:
            figures = "– | – | – | –"
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        rate = done / self.seconds if self.seconds else 0.0
        cpu = f"{self.server_cpu_s / done * 1000:.1f}" if self.server_cpu_s is not None and done else "–"
        return f"| {self.name} | {done + errors} | {figures} | {rate:.1f} | {cpu} | {errors} ({kinds}) |"


def _machine() -> dict[str, str]:
    commit, changed = git_state(["matcher", "service", "benchmarks/*.py"])
    dirty = {None: "unknown", True: "with uncommitted changes", False: "no uncommitted changes"}[changed]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return {
        "cpu": cpu_name(),
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": f"{commit or 'unknown'} ({dirty} to matcher/, service/, benchmarks/)",
        "load": load,
    }


async def _user(
    client: httpx.AsyncClient, ids: list[str], phase: Phase, until: float, think: tuple[float, float], seed: int
) -> None:
    rng = random.Random(seed)
    if think[1] > 0:
        # Coaches do not all press at the same instant: each user's first request falls somewhere in one mean pause
        # (without this, all 50 first requests arrive together and queue behind one another for half a second).
        await asyncio.sleep(rng.uniform(0, (think[0] + think[1]) / 2))
    while time.perf_counter() < until:
        pid = rng.choice(ids)
        started = time.perf_counter()
        try:
            response = await client.get(f"{API}/participants/{pid}/suggestions", params={"date": DAY, "k": 5})
            await response.aread()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code == 200:
                phase.latencies_ms.append(elapsed)
            else:
                phase.error(f"HTTP {response.status_code}")
        except httpx.TimeoutException:
            phase.error("timeout")
        except httpx.TransportError as exc:
            phase.error(type(exc).__name__)
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


async def _writer(client: httpx.AsyncClient, pairs: list[tuple[str, str]], phase: Phase, until: float) -> None:
    """Place a person and end the placement again, once a second: two occupancy writes a second."""
    i = 0
    while time.perf_counter() < until:
        pid, slot_id = pairs[i % len(pairs)]
        i += 1
        body = {"participant_id": pid, "slot_id": slot_id, "start_date": DAY}
        placed = await client.post(f"{API}/placements", json=body)
        if placed.status_code == 201:
            phase.writes += 1
            ended = await client.patch(
                f"{API}/placements/{placed.json()['id']}", json={"end_reason": "work", "end_date": DAY}
            )
            phase.writes += ended.status_code == 200
        else:
            phase.error(f"write HTTP {placed.status_code}")
        await asyncio.sleep(1.0)


async def _phase(
    base_url: str,
    token: str,
    ids: list[str],
    phase: Phase,
    users: int,
    seconds: float,
    think: tuple[float, float],
    writes: list[tuple[str, str]] | None = None,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=users + 1, max_keepalive_connections=users + 1)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=timeout) as client:
        until = time.perf_counter() + seconds
        started = time.perf_counter()
        tasks = [_user(client, ids, phase, until, think, seed) for seed in range(users)]
        if writes:
            tasks.append(_writer(client, writes, phase, until))
        await asyncio.gather(*tasks)
        phase.seconds = time.perf_counter() - started


def _timed_get(url: str, token: str, pid: str) -> float:
    started = time.perf_counter()
    response = httpx.get(
        f"{url}{API}/participants/{pid}/suggestions",
        params={"date": DAY, "k": 5},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def _write_pairs(instance: matcher.Instance, count: int = 20) -> list[tuple[str, str]]:
    """People without a seat and a slot each can take (feasible, by the core's candidates), for the writes phase."""
    ci = matcher.prepare(instance)
    seen: set[str] = set()
    pairs = []
    for row in matcher.candidates(ci, matcher.DEFAULT_PLAN_DATE):
        person = ci.instance.participants[ci.participant_index[row.participant_id]]
        if row.participant_id in seen or person.current_slot_id:
            continue
        seen.add(row.participant_id)
        pairs.append((row.participant_id, row.slot_id))
        if len(pairs) >= count:
            break
    return pairs


def run(args: argparse.Namespace) -> str:
    machine = _machine()
    instance = matcher.synthetic_instance(args.participants, seed=args.seed)
    ids = [p.participant_id for p in instance.participants]
    held = sum(1 for p in instance.participants if p.current_slot_id)
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    data = folder / "data"
    matcher.write_dataset(instance, data)
    server = Server(folder, args.port or free_port(), sample=data)
    phases: list[Phase] = []
    try:
        startup_s = server.wait_ready(args.startup_timeout)
        token = server.token()
        cold_ms = _timed_get(server.url, token, ids[0])
        warm_ms = _timed_get(server.url, token, ids[1])
        pairs = _write_pairs(instance)
        spread = (max(0.0, args.think - 0.5), args.think + 0.5) if args.think > 0 else (0.0, 0.0)
        plan = [
            ("one user", "1 user, no pause: the time of one request without queueing", (0.0, 0.0), None),
            (
                "users",
                f"{args.users} users, each pausing {spread[0]:.1f}–{spread[1]:.1f} s between requests, the first "
                f"request of each at a random moment within the first {args.think:.1f} s",
                spread,
                None,
            ),
            ("saturation", f"{args.users} users, no pause", (0.0, 0.0), None),
            (
                "writes",
                f"as users, with a placement made and ended every second ({len(pairs)} people in turn)",
                spread,
                pairs,
            ),
        ]
        for name, description, think, writes in plan:
            if name not in args.phases:
                continue
            phase = Phase(name, description)
            users, seconds = (1, min(args.duration, 20.0)) if name == "one user" else (args.users, args.duration)
            print(f"phase {name}: {description}, {seconds:.0f} s", flush=True)
            cpu_before = server.cpu_seconds()
            asyncio.run(_phase(server.url, token, ids, phase, users, seconds, think, writes))
            cpu_after = server.cpu_seconds()
            if cpu_before is not None and cpu_after is not None:
                phase.server_cpu_s = cpu_after - cpu_before
            print("  " + phase.row(), flush=True)
            phases.append(phase)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    users = next((p for p in phases if p.name == "users"), None)
    verdict = ""
    if users is not None and users.latencies_ms:
        p95 = float(np.percentile(np.array(users.latencies_ms), 95))
        met = p95 < 50 and not users.errors
        verdict = (
            f"**Target (p95 under 50 ms and no error, users phase): {'met' if met else 'not met'}** "
            f"(p95 {p95:.1f} ms, {sum(users.errors.values())} errors)."
        )
    lines = [
        "# Suggestions over HTTP (service benchmark)",
        "",
        f"Written by `{args.command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. The method is in the docstring of",
        "`benchmarks/service.py`.",
        "",
        f"- **Machine:** {machine['cpu']}, {machine['cores']} cores; {machine['os']}; Python {machine['python']}; "
        f"load average at the start {machine['load']} (1/5/15 min)",
        f"- **Code:** commit {machine['commit']}",
        f"- **Data:** `matcher.synthetic_instance({args.participants}, seed={args.seed})`: "
        f"{len(instance.participants):,} participants ({held:,} holding a seat), {len(instance.slots):,} slots at "
        f"{len(instance.sites):,} sites, imported at the server's first start into a fresh SQLite database",
        "- **Server:** `python -m placement_cli serve` (as `make run`: one uvicorn process), loopback; the load "
        "generator (httpx, asyncio) on the same machine",
        f"- **Start:** server ready (migrated, data imported) in {startup_s:.1f} s; first suggestion (reads and "
        f"compiles the data set) {cold_ms:.0f} ms; the next one {warm_ms:.1f} ms",
        f"- **Each phase:** {args.duration:.0f} s (one user: at most 20 s); requests "
        "`GET /participants/{random id}/suggestions?k=5`",
        "",
        "| phase | requests | p50 ms | p95 ms | p99 ms | max ms | throughput req/s | server CPU ms/request | errors |",
        "|---|---|---|---|---|---|---|---|---|",
        *(p.row() for p in phases),
        "",
        *(f"- **{p.name}:** {p.description}" + (f"; {p.writes} writes" if p.writes else "") for p in phases),
        "",
        "Server CPU ms/request: the server process's CPU time (user + system, from /proc) over the phase, divided by",
        "its answered requests (the writes phase's writes included in the time): what a request costs the server, much",
        "less sensitive to the machine's other load than the latencies, which wait for a share of the 2 cores.",
        "",
        verdict,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause of a user between requests, seconds")
    parser.add_argument("--phases", default="one user,users,saturation,writes")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-service.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server log)")
    parser.add_argument("--command", default="python -m benchmarks.service")
    args = parser.parse_args(argv)
    args.phases = set(args.phases.split(","))
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
