"""The last-seat race over HTTP: 20 coaches' requests for the one free seat of a slot, released together against a
live server, 30 runs on each database; the winners per run (target: exactly one) and the seats taken after it."""

from __future__ import annotations

import tempfile
import threading
from collections import Counter
from pathlib import Path

import httpx

from attacks._server import POSTGRES, Server, fresh_postgres, serve, tiny_database

RUNS = 30
TAKERS = 20
SLOT = "sew"  # one seat
DAY = "2026-11-23"


def _people(server: Server, token: str) -> list[str]:
    """TAKERS participants who fit the slot but for its seats (copies of P3's profile)."""
    headers = {"Authorization": f"Bearer {token}"}
    profile = httpx.get(f"{server.api}/participants/P3", headers=headers, timeout=30).json()
    for key in ("id", "current_slot_id", "pinned", "coach_id"):
        profile.pop(key, None)
    ids = [f"R{i:02d}" for i in range(TAKERS)]
    for pid in ids:
        answer = httpx.post(f"{server.api}/participants", json={**profile, "id": pid}, headers=headers, timeout=30)
        answer.raise_for_status()
    return ids


def _free_the_seat(database_url: str) -> None:
    from sqlalchemy import delete

    from service.db import models as db
    from service.db.engine import make_engine, make_session_factory, transaction

    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        session.execute(delete(db.Placement).where(db.Placement.slot_id == SLOT))
    engine.dispose()


def _taken(server: Server, token: str) -> int:
    slot = httpx.get(f"{server.api}/slots/{SLOT}", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    return int(slot["taken"])


def one_race(server: Server, token: str, people: list[str]) -> Counter[int]:
    barrier = threading.Barrier(len(people))
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def take(pid: str) -> None:
        body = {"participant_id": pid, "slot_id": SLOT, "start_date": DAY}
        with httpx.Client(timeout=120) as client:
            barrier.wait(timeout=60)
            try:
                status = client.post(
                    f"{server.api}/placements", json=body, headers={"Authorization": f"Bearer {token}"}
                ).status_code
            except httpx.HTTPError:
                status = 0  # no answer (reset, timeout)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=take, args=(pid,)) for pid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def race_on(database_url: str, folder: Path) -> list[tuple[int, Counter[int], int]]:
    url, tokens = tiny_database(folder, database_url)
    token = tokens["coordinator"]
    runs: list[tuple[int, Counter[int], int]] = []
    with serve(url, folder) as server:
        people = _people(server, token)
        for _ in range(RUNS):
            _free_the_seat(url)
            statuses = one_race(server, token, people)
            runs.append((statuses[201], statuses, _taken(server, token)))
    return runs


def run(results: Path) -> None:
    lines = [
        "## The last-seat race",
        "",
        f"{TAKERS} requests `POST /placements` for the one free seat of slot `{SLOT}`, by {TAKERS} participants who "
        f"fit it, each on its own connection, released together by a barrier against a live uvicorn; {RUNS} runs "
        "per database (the seat freed between runs). Target: exactly one 201 per run, the others 409, and never "
        "more seats taken than the slot has.",
        "",
        "| database | runs | runs with exactly one winner | winners per run | answers | most seats taken |",
        "|---|---:|---:|---|---|---:|",
    ]
    databases: list[tuple[str, str | None]] = [("SQLite", None), ("PostgreSQL", POSTGRES)]
    for name, url in databases:
        with tempfile.TemporaryDirectory(prefix="races-") as folder:
            if url is None:
                url = f"sqlite:///{Path(folder) / 'races.db'}"
            elif not fresh_postgres(url):
                lines.append(f"| {name} | not run: {url.split('@')[-1]} not reachable | | | | |")
                continue
            runs = race_on(url, Path(folder))
        winners = Counter(w for w, _, _ in runs)
        answers: Counter[int] = sum((s for _, s, _ in runs), Counter())
        lines.append(
            f"| {name} | {len(runs)} | {winners[1]} | "
            + ", ".join(f"{w} winner(s): {n} runs" for w, n in sorted(winners.items()))
            + " | "
            + ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(answers.items()))
            + f" | {max(t for _, _, t in runs)} of 1 |"
        )
    lines += [
        "",
        "Reproduce: `python -m attacks races` (part of `make attack`; PostgreSQL at "
        "`PLACEMENT_ATTACK_POSTGRES_URL`, default the database `openapi` on 127.0.0.1, emptied first). The same race "
        "with two requests is a test: `tests/service/placements/test_concurrency.py`.",
    ]
    (results / "races.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
