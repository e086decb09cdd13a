"""Schemathesis over every operation, once per role, against a live server: cases, operations and failures of any
kind; and the audit log checked against the requests that showed or changed participant data during the run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from attacks import ROOT
from attacks._server import POSTGRES, ROLES, own_postgres, serve, tiny_database

EXAMPLES = 10
SEED = 1
PHASES = "examples,coverage,fuzzing,stateful"
CONFIG = ROOT / "attacks" / "schemathesis.toml"
DATABASES = ("SQLite", "PostgreSQL")
START_S = 600  # runs side by side start their servers together: on a loaded machine that takes minutes
TIMEOUT_S = 5400  # a run on a loaded machine; a run killed at it is reported as not finished, not as a figure
PARALLEL = max(1, int(os.environ.get("PLACEMENT_FUZZ_PARALLEL", "1")))
"""Runs (a role on a database) side by side; each has its own server and database (PostgreSQL: one database per
role beside `PLACEMENT_ATTACK_POSTGRES_URL`'s, `<name>_fuzz_<role>`). The figures do not depend on it."""


def schemathesis_run(api_url: str, token: str, log: Path, examples: int = EXAMPLES) -> tuple[int, str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{api_url}/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(examples),
        "--phases",
        PHASES,
        "--seed",
        str(SEED),
        "--request-timeout",
        "60",
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "attacks._st_hooks", "PLACEMENT_FUZZ_LOG": str(log)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as late:
        said = late.stdout.decode(errors="replace") if isinstance(late.stdout, bytes) else (late.stdout or "")
        return -1, f"FAILURES\nnot finished after {TIMEOUT_S} s (killed)\n{said[-3000:]}"
    return done.returncode, done.stdout + done.stderr


def summary(output: str) -> dict[str, object]:
    """The figures of schemathesis' summary: operations tested, cases generated, failures (by check) and errors."""

    def number(pattern: str) -> int:
        found = re.search(pattern, output)
        return int(found.group(1)) if found else 0

    tail = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output
    failures = dict(re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", tail))
    return {
        "operations": number(r"Tested: (\d+)"),
        "selected": number(r"Selected: \d+/(\d+)"),
        "cases": number(r"(\d+) generated"),
        "failures": number(r"(\d+) unique failures"),
        "errors": number(r"(\d+) errored"),
        "by_check": {k: int(v) for k, v in failures.items()},
        "links": _text(r"API Links:\s+(.+)", output),
        "scenarios": number(r"Scenarios:\s+(\d+)"),
        "phases": re.findall(r"(✅|❌|🚫|⏭)\s+(Examples|Coverage|Fuzzing|Stateful)", tail),
    }


def _text(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    return found.group(1).strip() if found else ""


def under_pseudonyms(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls with each path as the audit log now holds it: an erasure replaced the erased id, as a whole word,
    by its pseudonym in every audit entry written before it (`service.subject.service.erase`)."""
    from service.subject.service import ID_CHARS

    calls = [dict(c) for c in calls]
    for i, call in enumerate(calls):
        erased = call.get("erased")
        if not erased:
            continue
        word = re.compile(rf"(?<![{ID_CHARS}]){re.escape(erased['id'])}(?![{ID_CHARS}])")
        for earlier in calls[: i + 1]:
            earlier["path"] = word.sub(erased["pseudonym"], unquote(earlier["path"]))
    return calls


def audit_check(database_url: str, role: str, log: Path) -> dict[str, object]:
    """Requests that showed or changed participant data (from the hook's log) against the audit entries of the
    role's user: every such request must have its entry (same method and path)."""
    from sqlalchemy import select

    from service.db import models as db
    from service.db.engine import make_engine, make_session_factory

    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    calls = under_pseudonyms(calls)
    shown = Counter((c["method"], unquote(c["path"])[:200]) for c in calls if c["participants"])
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(db.AuditEntry.method, db.AuditEntry.path).where(db.AuditEntry.user_role == role)
        ).all()
    engine.dispose()
    entries = Counter((m, unquote(p)) for m, p in rows)
    missing = shown - entries
    operation = {(c["method"], unquote(c["path"])[:200]): c.get("operation", c["path"]) for c in calls}
    by_operation = Counter(f"{m} {operation[(m, p)]}" for (m, p), n in missing.items() for _ in range(n))
    return {
        "missing_by_operation": dict(by_operation),
        "requests": len(calls),
        "participant_requests": sum(shown.values()),
        "audit_rows": len(rows),
        "missing": sum(missing.values()),
        "extra": sum((entries - shown).values()),
    }


Row = tuple[str, str, dict[str, object], dict[str, object], int]


def _prepare(database: str, role: str, tmp: Path) -> tuple[str, str] | str:
    """The run's database (migrated, with the tiny region) and the role's token; or why it cannot run. In the main
    thread, one after another: Alembic's migration context is not safe across threads."""
    url: str | None = None
    if database == "PostgreSQL":
        url = own_postgres(POSTGRES, f"fuzz_{role}")
        if url is None:
            return f"### {role} on PostgreSQL not run: {POSTGRES.split('@')[-1]} is not reachable"
    url, tokens = tiny_database(tmp, url)
    return url, tokens[role]


def _one(database: str, role: str, tmp: Path, url: str, token: str) -> tuple[Row, str]:
    """One role's run on one database: its row, and what to show when schemathesis failed."""
    log = tmp / "calls.jsonl"
    with serve(url, tmp, start_s=START_S) as server:
        code, output = schemathesis_run(server.url, token, log)
    figures = summary(output)
    audit = audit_check(url, role, log)
    detail = ""
    if code != 0:
        start = output.find("FAILURES")
        shown = output[start:][:6000] if start >= 0 else output[-6000:]  # no FAILURES: why it stopped (its end)
        detail = f"### {role} on {database}: schemathesis exited with {code}\n\n```\n{shown}\n```"
    return (database, role, figures, audit, code), detail


def run(results: Path) -> None:
    rows: list[Row] = []
    details: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        runs = []
        for database in DATABASES:
            for role in ROLES:
                tmp = Path(folder) / f"{database}-{role}"
                tmp.mkdir()
                prepared = _prepare(database, role, tmp)
                if isinstance(prepared, str):
                    details.append(prepared)
                else:
                    runs.append((database, role, tmp, *prepared))
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:  # each run is a server and a schemathesis process
            for row, detail in pool.map(lambda run: _guarded(*run), runs):
                if row is not None:
                    rows.append(row)
                if detail:
                    details.append(detail)
                _write(results, rows, details)  # as each run ends, so a run stopped early keeps what it measured
    _write(results, rows, details)


def _guarded(database: str, role: str, tmp: Path, url: str, token: str) -> tuple[Row | None, str]:
    """`_one`, with a run that could not be made (its server did not start) reported instead of ending the rest."""
    try:
        return _one(database, role, tmp, url, token)
    except Exception as exc:  # noqa: BLE001 - reported in the result file, never a figure
        return None, f"### {role} on {database}: not run ({type(exc).__name__}: {exc})"


def _write(results: Path, rows: list[Row], details: list[str]) -> None:
    lines = [
        "## Fuzzing the API (schemathesis)",
        "",
        f"Schemathesis {_version()} with **every check** (`attacks/schemathesis.toml`), phases {PHASES} "
        f"(the stateful phase follows the OpenAPI links create → read → update → delete), {EXAMPLES} examples per "
        f"operation, seed {SEED}, against a live uvicorn over SQLite and over PostgreSQL "
        "(databases beside `PLACEMENT_ATTACK_POSTGRES_URL`'s), holding the tests' tiny region, one fresh database "
        f"per role and database{f', {PARALLEL} runs side by side' if PARALLEL > 1 else ''}.",
        "",
        "| database | role | operations | cases | failures | errors | by check | stateful scenarios | links covered "
        "| requests | showing participant data | audit rows | without an audit row |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for database, role, figures, audit, _code in rows:
        by_check = ", ".join(f"{k}: {v}" for k, v in figures["by_check"].items()) or "none"  # type: ignore[attr-defined]
        lines.append(
            f"| {database} | {role} | {figures['operations']}/{figures['selected']} | {figures['cases']} "
            f"| {figures['failures']} "
            f"| {figures['errors']} | {by_check} | {figures['scenarios']} | {figures['links']} "
            f"| {audit['requests']} | {audit['participant_requests']} "
            f"| {audit['audit_rows']} | {audit['missing']} |"
        )
    lines += [
        "",
        "*Audit*: every request of the run is logged by the hook in `attacks/_st_hooks.py`; a 2xx answer that shows "
        "or changes participant data must have its audit entry (same method and path). *Without an audit row* "
        "counts those that have none (target 0); audit rows beyond them are entries of requests the hook does not "
        "count (a denied read, when those are audited, or a request whose answer names nobody). Reading the audit "
        "log itself is not counted as a read of participant data.",
        "",
        "Reproduce: `python -m attacks fuzz` (part of `make attack`); in CI, `tests/service/test_fuzz.py` runs the "
        "same checks in-process with fewer examples.",
    ]
    for database, role, _figures, audit, _code in rows:
        missing = audit["missing_by_operation"]
        if missing:
            listed = ", ".join(f"`{k}` {v}" for k, v in sorted(missing.items()))  # type: ignore[attr-defined]
            lines += ["", f"Requests without an audit row as {role} on {database}: {listed}."]
    if details:
        lines += ["", *details]
    (results / "fuzz.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _version() -> str:
    from importlib.metadata import version

    return version("schemathesis")
