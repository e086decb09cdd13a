"""Data-subject rights under attack (issue 14, item 10): on the sample region, erase participants who have plans,
placements, travel times and audit entries about them, then search every text and JSON cell of every table for
their codes; and check that the aggregate reports stayed as they were.

`python -m attacks subject` (or `make attack`) writes `results/subject.md`. In-process (TestClient) on a fresh
SQLite database in a temporary folder; about half a minute."""

from __future__ import annotations

import json
import pathlib
import re
import tempfile
import time
from datetime import date, timedelta
from typing import Any

ERASE = 20  # participants erased by request; as many again by `placement gallra`


def _scan(engine: Any, ids: list[str]) -> dict[str, int]:
    """table -> cells that still name one of the ids as a whole word."""
    from sqlalchemy import select

    from service.db.models import Base

    pattern = re.compile(r"(?<![A-Za-z0-9_\-])(" + "|".join(re.escape(i) for i in ids) + r")(?![A-Za-z0-9_\-])")
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            hits = 0
            for row in conn.execute(select(table)):
                for value in row:
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    if isinstance(value, (str, dict, list)) and pattern.search(text):
                        hits += 1
            found[table.name] = hits
    return found


def run(results: pathlib.Path) -> None:
    from fastapi.testclient import TestClient

    import matcher
    from service.app import create_app
    from service.auth.users import add_user
    from service.db import models as db
    from service.db.engine import make_engine, make_session_factory, transaction
    from service.db.migrate import upgrade
    from service.imports.loader import insert_dataset
    from service.settings import ServiceSettings
    from service.subject.service import cutoff_of, retention

    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{pathlib.Path(tmp) / 'subject.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        instance = matcher.load_dataset(pathlib.Path("data/sample"))
        with transaction(factory) as session:
            session.add(db.Association(id="default", name="Sample"))
            session.flush()
            insert_dataset(session, instance, "default")
            user, token = add_user(session, "coordinator", db.Role.coordinator, "default", None)
        settings = ServiceSettings(
            database_url=url, sample_data=pathlib.Path(tmp) / "none", demo_tokens_file=pathlib.Path(tmp) / "t.txt"
        )
        headers = {"Authorization": f"Bearer {token}"}
        people = sorted(p.participant_id for p in instance.participants)
        with TestClient(create_app(settings)) as client:
            api = "/api/v1"
            slots = [s["id"] for s in client.get(f"{api}/slots?limit=500", headers=headers).json()["items"]]
            ended: list[str] = []
            start = date.today() - timedelta(days=1200)
            # Give people placements that ended (the first half long ago, for gallra), reads and a plan naming them.
            for pid in people:
                if len(ended) == 2 * ERASE:
                    break
                if client.get(f"{api}/participants/{pid}", headers=headers).json().get("current_slot_id"):
                    continue
                for slot in slots:
                    body = {"participant_id": pid, "slot_id": slot, "start_date": start.isoformat()}
                    made = client.post(f"{api}/placements", json=body, headers=headers)
                    if made.status_code == 201:
                        end = start + timedelta(days=30 if len(ended) >= ERASE else 60)
                        patch = {"end_reason": "work", "end_date": end.isoformat()}
                        client.patch(f"{api}/placements/{made.json()['id']}", json=patch, headers=headers)
                        ended.append(pid)
                        break
            with transaction(factory) as session:
                session.add(
                    db.Plan(
                        association_id="default",
                        status=db.PlanStatus.done,
                        plan_date=date.today(),
                        time_limit_s=1,
                        result={
                            "proposals": [{"participant_id": p, "change": "new"} for p in ended],
                            "notes": [f"{p}: kept" for p in ended],
                        },
                    )  # fmt: skip
                )
                for pid in ended:
                    session.add(
                        db.TravelTime(
                            association_id="default", participant_id=pid, site_id=instance.sites[0].site_id, minutes=30
                        )
                    )

            def reports() -> dict[str, Any]:
                got = {by: client.get(f"{api}/reports/utilisation?by={by}", headers=headers).json()
                       for by in ("enterprise", "site", "slot", "programme", "municipality")}  # fmt: skip
                got["outcomes"] = client.get(f"{api}/reports/outcomes", headers=headers).json()
                for by in ("enterprise", "site", "slot", "programme", "municipality"):
                    for r in [*got[by]["rows"], got[by]["totals"]]:
                        r.pop("waiting"), r.pop("median_waiting_days")
                return got

            before = reports()
            named_before = sum(_scan(engine, ended).values())  # the scan finds them while they are there
            by_request, by_retention = ended[ERASE:], ended[:ERASE]
            records, started = 0, time.perf_counter()
            for pid in by_request:
                records += client.get(f"{api}/participants/{pid}/record", headers=headers).status_code == 200
            record_ms = (time.perf_counter() - started) * 1000 / max(len(by_request), 1)
            started = time.perf_counter()
            statuses = [client.post(f"{api}/participants/{p}/erasure", headers=headers).status_code for p in by_request]
            erase_ms = (time.perf_counter() - started) * 1000 / max(len(by_request), 1)
            with transaction(factory) as session:
                cutoff = cutoff_of("24m", date.today())
                report = retention(session, "default", cutoff, apply=True)
            after = reports()
        leftovers = _scan(engine, ended)
        engine.dispose()
    ok = sum(s == 200 for s in statuses)
    same = after == before
    lines = [
        "## Data-subject rights: erasure leaves no trace of the id",
        "",
        f"On the sample region ({len(people)} participants): {len(ended)} participants given an ended placement, a "
        "travel time, a plan result naming them and audit entries; "
        f"{records}/{len(by_request)} subject records answered 200 (mean {record_ms:.0f} ms); "
        f"{ok}/{len(by_request)} erasures by request answered 200 (mean {erase_ms:.0f} ms); "
        f"the retention of `placement gallra --older-than 24m --apply` (`service.subject.service.retention`) erased "
        f"{len(report.erased)} more (exactly those whose placement ended long ago: "
        f"{'yes' if sorted(p for p, _ in report.erased) == sorted(by_retention) else 'NO'}) "
        f"(last placement ended before {cutoff.isoformat()}).",
        "",
        f"Before the erasures the same scan found {named_before} cells naming those ids (so it can find them).",
        "",
        "| table | cells still naming an erased id |",
        "|---|---|",
        *[f"| {t} | {n} |" for t, n in leftovers.items()],
        "",
        f"Aggregate reports (utilisation by 5 groupings without `waiting`, and outcomes) identical before and after: "
        f"**{'yes' if same else 'NO'}**.",
        "",
        "Command: `python -m attacks subject` (part of `make attack`).",
        "",
    ]
    (results / "subject.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    run(pathlib.Path("results"))
