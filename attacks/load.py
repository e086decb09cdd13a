"""The load test (`make load`): 50 users asking for suggestions and taking seats for 2 minutes, with locust headless
on loopback against a server started as `make run` starts it (the sample region); p50/p95/p99 and errors."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from attacks import ROOT
from attacks._server import serve

USERS = int(os.environ.get("PLACEMENT_LOAD_USERS", "50"))
SPAWN_RATE = 10
DURATION = os.environ.get("PLACEMENT_LOAD_TIME", "2m")
# The last line of a traceback, in the plain log or inside a JSON log line (where line breaks are `\n`).
EXCEPTION = re.compile(r"(?:\\n|\n)(\w+(?:\.\w+)*(?:Error|Exception): [^\\\n\"]*)")
LOCUSTFILE = ROOT / "attacks" / "_locustfile.py"


def run_locust(url: str, token: str, folder: Path) -> list[dict[str, str]]:
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(USERS),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--run-time",
        DURATION,
        "--host",
        url,
        "--csv",
        str(folder / "load"),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]
    env = {**os.environ, "PLACEMENT_LOAD_TOKEN": token}
    subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=900, check=True)
    with (folder / "load_stats.csv").open(encoding="utf-8") as stats:
        return list(csv.DictReader(stats))


def run(results: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="load-") as folder:
        tmp = Path(folder)
        with serve(f"sqlite:///{tmp / 'placement.db'}", tmp, sample=True) as server:
            rows = run_locust(server.url, server.tokens["coordinator"], tmp)
        server_errors = _server_errors(tmp)
        failures = (
            (tmp / "load_failures.csv").read_text(encoding="utf-8") if (tmp / "load_failures.csv").exists() else ""
        )
    lines = [
        "## Load: 50 users for 2 minutes",
        "",
        f"locust {_version()} headless, {USERS} users (spawned {SPAWN_RATE} a second) for {DURATION}, each waiting "
        "0.5–1.5 s between tasks: 4 in 5 ask for a random participant's suggestions, 1 in 5 asks and then takes "
        "the best suggested seat (`POST /placements`; a 409 — taken meanwhile, or the person holds a seat — is a "
        "right answer). On loopback against `placement serve` (as `make run`: SQLite, the sample region of "
        "data/sample, one uvicorn worker), the load generator on the same machine. Times in ms. An error is a 5xx, "
        "another 4xx, a reset or a timeout. Target: 0 errors, suggestions p95 < 50 ms.",
        "",
        "| request | count | errors | requests/s | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {float(row['Requests/s']):.1f} "
            f"| {row['50%']} | {row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} |"
        )
    lines += ["", verdict(rows)]
    if server_errors:
        listed = "; ".join(f"`{message}` ×{n}" for message, n in server_errors.most_common(5))
        lines += ["", f"The server's log of the run: {listed}."]
    if failures.count("\n") > 1:
        lines += ["", "Errors (locust's failures.csv):", "", "```", failures.strip()[:3000], "```"]
    lines += ["", "Reproduce: `make load` (`python -m attacks load`); not part of `make attack` or CI."]
    (results / "load.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


SUGGESTIONS = "/participants/{id}/suggestions"
TARGET_P95_MS = 50


def verdict(rows: list[dict[str, str]]) -> str:
    """Whether the run met the target (no error in any request, suggestions p95 under 50 ms), from locust's stats."""
    errors = sum(int(row["Failure Count"]) for row in rows if row["Name"] != "Aggregated")
    suggestions = next((row for row in rows if row["Name"] == SUGGESTIONS), None)
    if suggestions is None:
        return "**Target: not met** (no suggestion was asked for)."
    p95 = float(suggestions["95%"])
    met = errors == 0 and p95 < TARGET_P95_MS
    return f"**Target: {'met' if met else 'not met'}** ({errors} errors, suggestions p95 {p95:.0f} ms)."


def _server_errors(folder: Path) -> Counter[str]:
    """The exceptions the server logged (the last line of each traceback), by message."""
    found: Counter[str] = Counter()
    for log in folder.glob("server-*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        found.update(
            m.strip()[:160] for m in re.findall(r"(?:\\n|\n)(\w+(?:\.\w+)*(?:Error|Exception): [^\\\n\"]*)", text)
        )
    return found


def _version() -> str:
    from importlib.metadata import version

    return version("locust")
