"""The server the service benchmarks measure: `placement serve` as `make run` starts it, in a process of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """SIGTERM, and SIGKILL when it has not ended within `timeout_s`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """`placement serve` on loopback `port` over `database_url` (default: a fresh SQLite file in `folder`), with
    `sample` as its first-start data set (a folder that does not exist: none), logging to `folder/<log_name>.log`.

    SQLite and the local pool, as `make run`, unless `env_extra` says otherwise: the caller's `DATABASE_URL` and
    `PLACEMENT_QUEUE_URL` are not passed on."""

    def __init__(
        self,
        folder: Path,
        port: int,
        *,
        sample: Path,
        database_url: str = "",
        env_extra: dict[str, str] | None = None,
        log_name: str = "server",
    ) -> None:
        self.folder, self.port = folder, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PLACEMENT_QUEUE_URL")},
            "PLACEMENT_DATABASE_URL": database_url or f"sqlite:///{folder / 'placement.db'}",
            "PLACEMENT_SAMPLE_DATA": str(sample),
            "PLACEMENT_DEMO_TOKENS_FILE": str(folder / "tokens.txt"),
            **(env_extra or {}),
        }
        self.log = (folder / f"{log_name}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "placement_cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 300) -> float:
        """Seconds until `/health` answered 200 (the first-start import included)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {self.process.returncode}); see {self.log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}{API}/health", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            time.sleep(0.5)
        raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s; see {self.log.name}")

    def token(self, role: str = "coordinator") -> str:
        """The demo user's token of `role` (the file `placement serve` writes at its first start)."""
        for line in (self.folder / "tokens.txt").read_text(encoding="utf-8").splitlines():
            name, _, token = line.split("\t")
            if name == f"demo-{role}":
                return token
        raise RuntimeError(f"no demo {role} token")

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (Linux: /proc); None where it cannot be read."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
