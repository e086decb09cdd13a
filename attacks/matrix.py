"""The authorisation matrix (tests/service/test_authorization.py) run with pytest: its size and its result, per test."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from attacks import ROOT

TESTS = "tests/service/test_authorization.py"


def run_matrix(junit: Path, database_url: str | None = None) -> tuple[int, dict[str, dict[str, int]]]:
    """pytest over the matrix; per test function: passed, failed, skipped (parametrised cases counted one by one)."""
    env = None
    if database_url:
        import os

        env = {**os.environ, "PLACEMENT_TEST_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", TESTS, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "").split("[")[0]
        outcome = "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        counts[name][outcome] += 1
    return done.returncode, dict(counts)


def run(results: Path) -> None:
    from tests.service import test_authorization as matrix

    operations = len(matrix.RULES)
    roles = len(matrix.ROLES)
    with tempfile.TemporaryDirectory() as folder:
        code, counts = run_matrix(Path(folder) / "junit.xml")
    total = {k: sum(c[k] for c in counts.values()) for k in ("passed", "failed", "skipped")}
    lines = [
        "## Authorisation matrix",
        "",
        f"`{TESTS}`: {operations} operations under /api/v1, each with its allowed roles, checked against the "
        f"`x-roles` the OpenAPI publishes; every operation called as each of the {roles} roles "
        f"({operations * roles} role-gate cells), as no token and as a revoked token, and objects outside the "
        "caller's view (another association's, another coach's participant, another enterprise's site) asked "
        "for by their id.",
        "",
        f"**{total['passed']} cases passed, {total['failed']} failed, {total['skipped']} skipped** "
        f"(pytest exit code {code}), SQLite.",
        "",
        "| test | cases | passed | failed | skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in sorted(counts.items()):
        lines.append(f"| `{name}` | {sum(c.values())} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    lines += ["", f"Reproduce: `python -m attacks matrix`, or `pytest {TESTS}` (run by `make test` and CI)."]
    (results / "matrix.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
