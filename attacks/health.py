"""Health under load (issue 14, item 4): `/health` p50/p95 on SQLite and PostgreSQL while the service imports a
generated region of 5,000 participants, solves a plan of it, and serves 8 and 20 concurrent suggestion clients.

Each backend gets a real `placement serve` on a free port and a database of its own (a fresh SQLite file; a fresh
PostgreSQL database `placement_attack_health` on PLACEMENT_ATTACK_PG_URL's server, skipped without one). A sampler
asks for `/health` every 50 ms throughout each load; target: p95 < 50 ms and no answer but 200.

Run: `python -m attacks health` (or `make attack`); about two minutes.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx

from attacks._serving import ROOT, Server, percentile, postgres_database, serving, summary_ms

PARTICIPANTS = 5000
SAMPLE_EVERY_S = 0.05
SUGGESTION_SECONDS = 15.0
PLAN_SECONDS = 20.0
TARGET_P95_MS = 50.0


class Sampler:
    """GET /health every SAMPLE_EVERY_S in a thread of its own until stopped: latencies (ms) and non-200s."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get("/api/v1/health").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(type(exc).__name__)
                else:
                    if status != 200:
                        self.failures.append(str(status))
                self.latencies.append((time.perf_counter() - started) * 1000)
                self._stop.wait(SAMPLE_EVERY_S)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def generate(folder: Path) -> Path:
    out = folder / "region"
    subprocess.run(
        [sys.executable, "-m", "placement_cli", "generate", "--participants", str(PARTICIPANTS), str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return out


def load_import(server: Server, region: Path) -> str:
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(region.glob("*.csv"))]
    started = time.perf_counter()
    with server.client(timeout=600) as client:
        response = client.post("/api/v1/imports", params={"apply": "true"}, files=files)
    seconds = time.perf_counter() - started
    return f"import of {PARTICIPANTS:,} participants: {response.status_code} in {seconds:.1f} s"


def load_plan(server: Server) -> str:
    with server.client() as client:
        created = client.post(
            "/api/v1/plans", json={"date": date.today().isoformat(), "time_limit_s": PLAN_SECONDS, "allow_moves": True}
        )
        if created.status_code != 202:
            return f"plan: {created.status_code} {created.text[:200]}"
        plan_id = created.json()["id"]
        started = time.perf_counter()
        status, error = "queued", ""
        while time.perf_counter() - started < PLAN_SECONDS + 120:
            body = client.get(f"/api/v1/plans/{plan_id}").json()
            status, error = body["status"], body.get("error") or ""
            if status in ("done", "failed"):
                break
            time.sleep(0.5)
    seconds = time.perf_counter() - started
    return f"plan (time limit {PLAN_SECONDS:g} s): {status} after {seconds:.1f} s" + (
        f" ({error[:160]})" if error else ""
    )


def suggestion_load(clients: int, participant_ids: list[str]) -> Callable[[Server], str]:
    def run(server: Server) -> str:
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.monotonic() + SUGGESTION_SECONDS

        def user(seed: int) -> None:
            rng = random.Random(seed)
            with server.client() as client:
                while time.monotonic() < deadline:
                    pid = rng.choice(participant_ids)
                    started = time.perf_counter()
                    try:
                        status = client.get(f"/api/v1/participants/{pid}/suggestions").status_code
                    except httpx.HTTPError as exc:
                        errors.append(type(exc).__name__)
                        continue
                    latencies.append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        errors.append(str(status))

        threads = [threading.Thread(target=user, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return (
            f"{clients} suggestion clients for {SUGGESTION_SECONDS:g} s: {len(latencies)} requests, "
            f"p50/p95 {percentile(latencies, 50):.0f}/{percentile(latencies, 95):.0f} ms, {len(errors)} errors"
            + (f" ({', '.join(sorted(set(errors)))})" if errors else "")
        )

    return run


def idle(server: Server) -> str:
    time.sleep(2)
    return "nothing else running"


def measure(name: str, database_url: str, folder: Path, region: Path) -> list[str]:
    ids = [row["participant_id"] for row in csv.DictReader((region / "participants.csv").open(encoding="utf-8-sig"))]
    rows = []
    with serving(database_url, folder) as server:
        loads: list[tuple[str, Callable[[Server], str]]] = [
            ("idle (2 s)", idle),
            ("import", lambda s: load_import(s, region)),
            ("plan", load_plan),
            ("8 suggestion clients", suggestion_load(8, ids)),
            ("20 suggestion clients", suggestion_load(20, ids)),
        ]
        for label, load in loads:
            with Sampler(server.base) as sampler:
                what = load(server)
            p95 = percentile(sampler.latencies, 95)
            verdict = "yes" if p95 < TARGET_P95_MS and not sampler.failures else "**no**"
            rows.append(
                f"| {name} | {label} | {len(sampler.latencies)} | {summary_ms(sampler.latencies)} | "
                f"{len(sampler.failures)} | {verdict} | {what} |"
            )
            print(rows[-1], flush=True)
    return rows


def run(results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="attack-health-") as tmp:
        folder = Path(tmp)
        region = generate(folder)
        rows = measure("SQLite", f"sqlite:///{folder / 'sqlite' / 'placement.db'}", folder / "sqlite", region)
        pg = postgres_database("placement_attack_health")
        if pg:
            rows += measure("PostgreSQL", pg, folder / "postgres", region)
        else:
            rows.append("| PostgreSQL | – | – | – | – | – | no server reachable: not measured |")
    text = "\n".join(
        [
            "## Health under load (issue 14, item 4)",
            "",
            f"`GET /api/v1/health` every {SAMPLE_EVERY_S * 1000:.0f} ms from its own client while the load runs,",
            "against a real `placement serve` on loopback (target: p95 < 50 ms, no answer but 200). Reads take",
            "no lock on SQLite (WAL, deferred transactions; writes `BEGIN IMMEDIATE`); an import runs in a worker",
            "process of its own (it reads and compares without a lock and writes in a short transaction there), so",
            "the server's garbage collections never walk its objects; the server freezes its startup heap out of",
            "those walks; and `/health` answers from the event loop on a connection of its own, never through the",
            "thread pool (on PostgreSQL an asynchronous psycopg connection).",
            "",
            "| database | load | samples | health p50 / p95 / max (ms) | non-200 | p95 < 50 ms | the load |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Command: `python -m attacks health` (part of `make attack`). The machine is shared: figures vary.",
            "",
        ]
    )
    (results / "health.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    run(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results"))
