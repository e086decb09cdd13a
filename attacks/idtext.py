"""Issue 14, items 1, 2 and 8: ids, text and personal identity numbers, through the API and the import.

Runs the service in-process (TestClient) on a temporary SQLite database with the sample region, sends the issue's
exact examples on every path (bodies, paths, queries, a CSV import) and counts the answers; then sends random text
as a name and as a code and checks that whatever the API stores exports and imports back unchanged, and that what
it refuses an import refuses too. Writes `idtext.md` into the results folder.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
EXAMPLES = ["kafe_ā", "kafe\u0085x", "kafe\x7fx", "kafe\u200bx", "kafe\u202ex", "   ", "19850101-1234", "850101-1234",
            "198501011234", "850101+1234", "Anna Andersson"]  # fmt: skip
ALPHABET = "aZ09_.-åäöÅÄÖé \t\n\r\u00a0\u0085\x7f\u200b\u202e\u2028\ufeff;,|\"'=+" + "".join(
    chr(c) for c in range(0x20, 0x250)
)
RANDOM_CASES = 150


def _client(tmp: Path) -> Any:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import ServiceSettings

    settings = ServiceSettings(
        database_url=f"sqlite:///{tmp / 'attack.db'}",
        sample_data=ROOT / "data" / "sample",
        demo_tokens_file=tmp / "tokens.txt",
    )
    from service.bootstrap import create_demo_users, load_sample_if_empty, prepare_database
    from service.db.engine import make_engine, make_session_factory

    prepare_database(settings)  # what `placement serve` does first
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    load_sample_if_empty(factory, settings)
    create_demo_users(factory, settings)
    engine.dispose()
    return TestClient(create_app(settings), raise_server_exceptions=False)


def _csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _export_files(client: Any, auth: dict[str, str], fmt: str, dialect: str) -> list[Any]:
    response = client.get(f"{API}/exports", params={"format": fmt, "dialect": dialect}, headers=auth)
    if fmt == "xlsx":
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return [("files", ("export.xlsx", response.content, xlsx))]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return [("files", (name, archive.read(name), "text/csv")) for name in archive.namelist()]


def _round_trips(client: Any, auth: dict[str, str]) -> bool:
    for fmt, dialect in (("csv", "semicolon"), ("csv", "comma"), ("xlsx", "semicolon")):
        report = client.post(f"{API}/imports", files=_export_files(client, auth, fmt, dialect), headers=auth)
        body = report.json()
        if report.status_code != 200 or body["created"] or body["changed"] or body["refused"]:
            return False
    return True


def run(results: Path) -> None:
    from service.bootstrap import read_demo_tokens

    with tempfile.TemporaryDirectory() as folder, _client(Path(folder)) as client:
        tmp = Path(folder)
        token = next(t for name, _, t in read_demo_tokens(tmp / "tokens.txt") if name == "demo-coordinator")
        auth = {"Authorization": f"Bearer {token}"}
        site = client.get(f"{API}/sites", headers=auth).json()["items"][0]
        person = client.get(f"{API}/participants/P0001", headers=auth).json()
        slot = {"site_id": site["id"], "activity": "cafe", "seats": 1, "min_hours": 5, "max_hours": 20, "days": ["mon"]}
        new_person = {k: v for k, v in person.items() if k not in ("current_slot_id", "coach_id")}
        participants_csv = _export_files(client, auth, "csv", "comma")
        people = next(f for f in participants_csv if f[1][0] == "participants.csv")[1][1].decode("utf-8")
        people_rows = list(csv.DictReader(io.StringIO(people)))

        paths: dict[str, Any] = {
            "POST /slots id": lambda v: client.post(f"{API}/slots", json={**slot, "id": v}, headers=auth),
            "POST /participants id": lambda v: client.post(
                f"{API}/participants", json={**new_person, "id": v}, headers=auth
            ),
            "PATCH /enterprises name": lambda v: client.patch(
                f"{API}/enterprises/{site['enterprise_id']}", json={"name": v}, headers=auth
            ),
            "GET /slots/{id}": lambda v: client.get(f"{API}/slots/{quote(v, safe='')}", headers=auth),
            "GET /slots?site_id=": lambda v: client.get(f"{API}/slots", params={"site_id": v}, headers=auth),
            "POST /imports participant_id": lambda v: client.post(
                f"{API}/imports",
                files=[("files", ("participants.csv", _csv([{**people_rows[0], "participant_id": v}]), "text/csv"))],
                headers=auth,
            ),
        }
        table: dict[str, dict[str, int]] = {}
        statuses: Counter[int] = Counter()
        for label, send in paths.items():
            table[label] = {}
            for value in EXAMPLES:
                code = send(value).status_code
                table[label][value] = code
                statuses[code] += 1

        rng = random.Random(14)
        outcomes: Counter[str] = Counter()
        for i in range(RANDOM_CASES):
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 16)))
            field, path = (("name", f"/enterprises/{site['enterprise_id']}") if i % 2 else
                           ("programme", "/participants/P0001"))  # fmt: skip
            response = client.patch(f"{API}{path}", json={field: text}, headers=auth)
            if response.status_code == 200:
                outcomes["accepted, round trip unchanged" if _round_trips(client, auth) else "accepted, CHANGED"] += 1
            elif response.status_code == 422:
                outcomes["refused (422)"] += 1
            else:
                outcomes[f"answered {response.status_code}"] += 1

    lines = [
        "## Ids, text and personal identity numbers (items 1, 2, 8)",
        "",
        "The issue's examples on each path (status codes; 422 = refused saying why, never 500):",
        "",
        "| value | " + " | ".join(table) + " |",
        "|---|" + "---|" * len(table),
    ]
    for value in EXAMPLES:
        lines.append(f"| `{value.encode('unicode_escape').decode()}` | " + " | ".join(
            str(table[label][value]) for label in table) + " |")  # fmt: skip
    lines += [
        "",
        f"{sum(statuses.values())} requests: "
        + ", ".join(f"{n} × {code}" for code, n in sorted(statuses.items()))
        + f"; {statuses.get(500, 0)} answered 500.",
        "",
        f"{RANDOM_CASES} random texts (seed 14, up to 16 characters of controls, zero-width, bidi, separators and "
        "Latin letters) as an enterprise name or a participant's programme, each accepted one exported as CSV "
        "(both dialects) and xlsx and imported back as a dry run: "
        + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        + ".",
        "",
        "Command: `python -m attacks idtext` (part of `make attack`).",
        "",
    ]
    results.mkdir(parents=True, exist_ok=True)
    (results / "idtext.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    run(ROOT / "docs" / "reliability")
