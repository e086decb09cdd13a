"""Imports run in a worker process of their own (service/imports/pool.py): what a worker answers, refusals with
their file, row and column included, is what the request answers; a worker killed mid-import answers 503 and
writes nothing, and the next import gets a new worker; so does one after a worker died while idle.

No timing is asserted: the test waits (within a generous deadline) for the import to be under way in its worker.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from service.imports.pool import ImportJob, ImportPool, run_job
from service.imports.schemas import ImportReport
from tests.service.imports.test_imports import csv_files, fingerprint, row, tiny_tables, upload

DEADLINE_S = 120.0


def marker(parent_pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"placement-import-under-way-{parent_pid}"


def slow_job(job: ImportJob) -> ImportReport:
    """In the worker: say the import is under way, then wait to be killed (or run it after a minute)."""
    marker(os.getppid()).touch()
    time.sleep(60)
    return run_job(job)


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_a_refusal_from_the_worker_keeps_its_file_row_and_column(service, import_pool: ImportPool):
    tables = tiny_tables()
    row(tables, "slots", "sew")["seats"] = "many"  # slots.csv row 3
    response = upload(service, csv_files(tables), apply=True)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problems = response.json()["problems"]
    assert [(p["file"], p["row"], p["column"], p["message"]) for p in problems] == [
        ("slots.csv", 3, "seats", "'many' is not a whole number")
    ]
    assert import_pool.worker_pids(), "the import ran in the pool's worker"


def test_a_worker_killed_mid_import_answers_503_writes_nothing_and_the_next_import_works(
    service, import_pool: ImportPool
):
    tables = tiny_tables()
    row(tables, "slots", "sew")["seats"] = "3"
    before = fingerprint(service)
    restarts = import_pool.restarts
    marker(os.getpid()).unlink(missing_ok=True)
    import_pool.job = slow_job
    answers: list[Any] = []
    try:
        request = threading.Thread(target=lambda: answers.append(upload(service, csv_files(tables), apply=True)))
        request.start()
        wait_for(marker(os.getpid()).exists)
        (pid,) = import_pool.worker_pids()
        os.kill(pid, signal.SIGKILL)
        request.join(DEADLINE_S)
    finally:
        import_pool.job = run_job
        marker(os.getpid()).unlink(missing_ok=True)
    (response,) = answers
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "worker process stopped" in response.json()["detail"]
    assert fingerprint(service) == before
    assert import_pool.restarts == restarts + 1
    again = upload(service, csv_files(tables), apply=True)
    assert again.status_code == 200, again.text
    assert [c["field"] for c in again.json()["changed"][0]["changes"]] == ["seats"]
    assert pid not in import_pool.worker_pids()


def test_a_worker_that_died_idle_is_replaced_before_the_next_import(service, import_pool: ImportPool, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the pool's own behaviour, whatever the database: once is enough (a new worker takes seconds)")
    assert upload(service, csv_files(tiny_tables())).status_code == 200
    (pid,) = import_pool.worker_pids()
    restarts = import_pool.restarts
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid) or pid not in import_pool.worker_pids())
    # Until the executor's own thread has seen the death, the pool cannot tell it from a worker dying mid-import
    # (that import answers 503, as the test above shows); the case here is a death noticed while idle.
    wait_for(lambda: bool(getattr(import_pool._pool, "_broken", False)))
    response = upload(service, csv_files(tiny_tables()))
    assert response.status_code == 200, response.text
    assert import_pool.restarts == restarts + 1
    assert pid not in import_pool.worker_pids()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True
