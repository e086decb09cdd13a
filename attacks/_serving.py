"""Shared by the attack modules of branch dblock: a real `placement serve` (or `placement worker`) in a process of
its own on a free port, over a fresh SQLite file or a PostgreSQL database of its own, and latency percentiles."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_SERVER = os.environ.get("PLACEMENT_ATTACK_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_database(name: str) -> str | None:
    """A fresh PostgreSQL database `name` (dropped and created) on PG_SERVER; None when there is no server."""
    server = make_url(PG_SERVER)
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # no server, or no right to create databases: the PostgreSQL figures are skipped
        print(f"PostgreSQL not available ({type(exc).__name__}: {exc}); skipped", file=sys.stderr)
        return None
    return server.set(database=name).render_as_string(hide_password=False)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    tokens: dict[str, str]
    folder: Path

    def client(self, role: str = "demo-coordinator", timeout: float = 120) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=timeout
        )


def environment(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    empty = folder / "no-sample"  # missing: the server starts empty, without the sample region
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PLACEMENT_SAMPLE_DATA": str(empty),
        "PLACEMENT_DEMO_TOKENS_FILE": str(folder / "tokens.txt"),
        "PLACEMENT_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextlib.contextmanager
def serving(database_url: str, folder: Path, **extra: str) -> Iterator[Server]:
    """`placement serve` on a free port until the block ends (then SIGTERM, as a service manager stops it)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (folder / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "placement_cli", "serve", "--port", str(port)],
        env=environment(database_url, folder, **extra),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 120 s")
            time.sleep(0.3)
        tokens = {}
        for line in (folder / "tokens.txt").read_text().splitlines():
            name, _role, token = line.split("\t")
            tokens[name] = token
        yield Server(process, base, tokens, folder)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.1f} / {percentile(values, 95):.1f} / {max(values):.1f}"
