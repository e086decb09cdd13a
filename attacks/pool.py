"""The solve pool under attack (issue 14, item 5): a real `placement serve` (and `placement worker` for the Redis
queue) solving a generated region, its processes killed mid-solve; what each plan ends as and whether any solve runs
on. Each case: the plan killed, how long until the service said so, whether a process still solves, and whether the
next plan completes.

Run: `python -m attacks pool` (or `make attack`); a few minutes. The Redis cases use PLACEMENT_ATTACK_REDIS_URL
(default redis://127.0.0.1:6379/11) and are skipped without a server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from attacks._serving import ROOT, Server, environment, serving
from attacks.health import load_import

PARTICIPANTS = 2000
SOLVE_SECONDS = 60.0  # long enough to be killed mid-solve
REDIS_URL = os.environ.get("PLACEMENT_ATTACK_REDIS_URL", "redis://127.0.0.1:6379/11")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


class Plans:
    """The plans table read straight from the database (the owner's pid is not in the API)."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    def row(self, plan_id: int) -> tuple[str, str | None, str | None]:
        with self.engine.connect() as conn:
            status, owner, error = conn.execute(
                text("SELECT status, owner, error FROM plans WHERE id = :id"), {"id": plan_id}
            ).one()
        return str(status), owner, error

    def owner_pid(self, plan_id: int, limit_s: float = 120) -> int:
        """Wait until the plan's solve has started (its deadline is written), then its worker's pid."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                status, owner, solving = conn.execute(
                    text("SELECT status, owner, deadline FROM plans WHERE id = :id"), {"id": plan_id}
                ).one()
            if status != "running" and status != "queued":
                raise RuntimeError(f"plan {plan_id} ended before its solve could be killed: {status}")
            if owner and solving is not None:
                return int(owner.split(":")[1].split(" ")[0])
            time.sleep(0.2)
        raise RuntimeError(f"plan {plan_id} did not start solving within {limit_s:g} s")

    def wait_ended(self, plan_id: int, limit_s: float) -> tuple[str, float]:
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            status = self.row(plan_id)[0]
            if status in ("done", "failed"):
                return status, time.monotonic() - started
            time.sleep(0.2)
        return self.row(plan_id)[0], time.monotonic() - started


def start_plan(server: Server, seconds: float) -> tuple[int, int]:
    with server.client() as client:
        body = {"date": date.today().isoformat(), "time_limit_s": seconds, "allow_moves": True}
        response = client.post("/api/v1/plans", json=body)
    return response.status_code, (response.json().get("id") if response.status_code == 202 else 0)


def next_plan(server: Server, plans: Plans) -> str:
    status, plan_id = start_plan(server, 2)
    if status != 202:
        return f"POST /plans → {status}"
    ended, seconds = plans.wait_ended(plan_id, 180)
    return f"next plan {ended} in {seconds:.0f} s"


def still_solving(pid: int, wait_s: float = 3.0) -> str:
    time.sleep(wait_s)
    return "**yes**" if alive(pid) else "no"


def local_cases(folder: Path, region: Path) -> list[str]:
    url = f"sqlite:///{folder / 'local' / 'placement.db'}"
    plans = Plans(url)
    rows = []
    extra = {"PLACEMENT_MAX_PLAN_SECONDS": str(SOLVE_SECONDS)}
    with serving(url, folder / "local", **extra) as server:
        load_import(server, region)
        # 1. kill -9 of the pool's worker mid-solve.
        _, plan_id = start_plan(server, SOLVE_SECONDS)
        pid = plans.owner_pid(plan_id)
        os.kill(pid, signal.SIGKILL)
        ended, seconds = plans.wait_ended(plan_id, 60)
        rows.append(
            f"| local pool | `kill -9` of the solve worker | {ended} after {seconds:.1f} s "
            f"({(plans.row(plan_id)[2] or '')[:70]}) | {still_solving(pid, 0)} | {next_plan(server, plans)} |"
        )
        # 2. SIGTERM of the server mid-solve.
        _, plan_id = start_plan(server, SOLVE_SECONDS)
        pid = plans.owner_pid(plan_id)
        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        stopped = time.monotonic() - began
        orphan = still_solving(pid)
    status = plans.row(plan_id)[0]
    with serving(url, folder / "local", **extra) as server:
        rows.append(
            f"| local pool | SIGTERM of the server (exits in {stopped:.1f} s) | {status} at once, "
            f"{plans.row(plan_id)[0]} after a restart | {orphan} | {next_plan(server, plans)} |"
        )
        # 3. kill -9 of the server mid-solve.
        _, plan_id = start_plan(server, SOLVE_SECONDS)
        pid = plans.owner_pid(plan_id)
        server.process.kill()
        server.process.wait()
        orphan = still_solving(pid)
    with serving(url, folder / "local", **extra) as server:
        rows.append(
            f"| local pool | `kill -9` of the server | {plans.row(plan_id)[0]} after a restart | {orphan} | "
            f"{next_plan(server, plans)} |"
        )
        # 4. the watchdog: a solve past its limit + 5 s (simulated: its deadline moved into the past).
        _, plan_id = start_plan(server, SOLVE_SECONDS)
        pid = plans.owner_pid(plan_id)
        with plans.engine.begin() as conn:
            conn.execute(
                text("UPDATE plans SET deadline = :past WHERE id = :id"),
                {"past": "2000-01-01 00:00:00.000000", "id": plan_id},
            )
        ended, seconds = plans.wait_ended(plan_id, 30)
        rows.append(
            f"| local pool | a solve past its deadline (limit + 5 s) | {ended} after {seconds:.1f} s "
            f"({(plans.row(plan_id)[2] or '')[:60]}…) | {still_solving(pid, 1)} | {next_plan(server, plans)} |"
        )
    return rows


@contextlib.contextmanager
def worker(url: str, folder: Path, extra: dict[str, str]) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    log = (folder / "worker.log").open("ab")
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "placement_cli", "worker"],
            env=environment(url, folder, **extra),
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def redis_cases(folder: Path, region: Path) -> list[str]:
    try:
        from redis import Redis

        Redis.from_url(REDIS_URL).ping()
    except Exception as exc:  # no Redis: say so in the report
        return [f"| Redis queue | – | not measured: Redis at {REDIS_URL} unreachable ({type(exc).__name__}) | – | – |"]
    url = f"sqlite:///{folder / 'redis' / 'placement.db'}"
    plans = Plans(url)
    extra = {
        "PLACEMENT_QUEUE_URL": REDIS_URL,
        "PLACEMENT_QUEUE_NAME": f"placement-attack-{uuid.uuid4().hex[:8]}",
        "PLACEMENT_MAX_PLAN_SECONDS": str(SOLVE_SECONDS),
    }
    rows = []
    with serving(url, folder / "redis", **extra) as server, worker(url, folder / "redis", extra) as start_worker:
        load_import(server, region)
        first = start_worker()
        _, plan_id = start_plan(server, SOLVE_SECONDS)
        pid = plans.owner_pid(plan_id)
        os.killpg(first.pid, signal.SIGKILL)  # the worker's process group: the work horse has a group of its own
        orphan = still_solving(pid)
        ended, seconds = plans.wait_ended(plan_id, 240)
        start_worker()
        rows.append(
            f"| Redis queue | `kill -9` of the worker's process group | {ended} after {seconds + 3:.0f} s "
            f"({(plans.row(plan_id)[2] or '')[:80]}) | {orphan} | {next_plan(server, plans)} |"
        )
    return rows


def run(results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="attack-pool-") as tmp:
        folder = Path(tmp)
        region = folder / "region"
        subprocess.run(
            [sys.executable, "-m", "placement_cli", "generate", "--participants", str(PARTICIPANTS), str(region)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        rows = local_cases(folder, region) + redis_cases(folder, region)
    text_ = "\n".join(
        [
            "## The solve pool killed (issue 14, item 5)",
            "",
            f"A real `placement serve` (SQLite) solving a generated region of {PARTICIPANTS:,} participants",
            f"(`allow_moves`, time limit {SOLVE_SECONDS:g} s), its processes killed once the core is solving.",
            '"Still solving" is whether the killed plan\'s solve process was alive 3 s later.',
            "",
            "| queue | attack | the killed plan | still solving | then |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Command: `python -m attacks pool` (part of `make attack`).",
            "",
        ]
    )
    (results / "pool.md").write_text(text_, encoding="utf-8")
    print(text_)


if __name__ == "__main__":
    run(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results"))
