"""Existence leaks across associations (issue 14, item 7): association B imports and posts the ids association A uses.

Before: B's import was refused record by record ("the id belongs to another association's participant") and
`POST /participants` of a hidden id answered 409 while `GET` answered 404. Measured here on a fresh SQLite database
with the sample data set in A, through the app in-process: `python -m attacks tenancy` (or `make attack`).
"""

from __future__ import annotations

import pathlib
import tempfile
from typing import Any

from fastapi.testclient import TestClient

import matcher
from service.app import create_app
from service.auth.users import add_user
from service.db import models as db
from service.db.engine import make_engine, make_session_factory, transaction
from service.db.migrate import upgrade
from service.imports.loader import insert_dataset
from service.settings import ServiceSettings

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
API = "/api/v1"


def _setup(folder: pathlib.Path) -> tuple[str, dict[str, str]]:
    url = f"sqlite:///{folder / 'tenancy.db'}"
    upgrade(url)
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    with transaction(make_session_factory(engine)) as session:
        session.add_all([db.Association(id="a", name="A"), db.Association(id="b", name="B")])
        session.flush()
        insert_dataset(session, matcher.load_dataset(SAMPLE), "a")
        for who, association in (("coordinator_a", "a"), ("coordinator_b", "b")):
            _, tokens[who] = add_user(session, who, db.Role.coordinator, association)
    engine.dispose()
    return url, tokens


def _mentions_a(text: str) -> bool:
    return any(s in text for s in ("another association", "'a'", '"a"', "belong"))


def measure(folder: pathlib.Path) -> dict[str, Any]:
    url, tokens = _setup(folder)
    settings = ServiceSettings(database_url=url, sample_data=folder / "none", demo_tokens_file=folder / "tokens.txt")
    a = {"Authorization": f"Bearer {tokens['coordinator_a']}"}
    b = {"Authorization": f"Bearer {tokens['coordinator_b']}"}
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(SAMPLE.glob("*.csv"))]
    with TestClient(create_app(settings)) as client:
        dry = client.post(f"{API}/imports", files=files, headers=b)
        applied = client.post(f"{API}/imports", params={"apply": "true"}, files=files, headers=b)
        report = applied.json()
        hidden = "P9999"
        client.post(f"{API}/participants", headers=a, json={
            "id": hidden, "programme": "MIA", "municipality": "Stockholm", "lat": 59.3, "lon": 18.0,
            "hours_per_week": 10, "days_available": ["mon"], "max_travel_minutes": 40,
        })  # fmt: skip
        get_before = client.get(f"{API}/participants/{hidden}", headers=b)
        post = client.post(f"{API}/participants", headers=b, json={
            "id": hidden, "programme": "SAMRE", "municipality": "Solna", "lat": 59.36, "lon": 18.0,
            "hours_per_week": 12, "days_available": ["tue"], "max_travel_minutes": 30,
        })  # fmt: skip
        own_a = client.get(f"{API}/participants/{hidden}", headers=a).json().get("municipality")
        own_b = client.get(f"{API}/participants/{hidden}", headers=b).json().get("municipality")
    return {
        "participants_in_a": len(matcher.load_dataset(SAMPLE).participants),
        "dry_status": dry.status_code,
        "apply_status": applied.status_code,
        "created": report["summary"]["created"],
        "refused": report["summary"]["refused"],
        "mentions_a": _mentions_a(dry.text) or _mentions_a(applied.text),
        "hidden_get": get_before.status_code,
        "hidden_post": post.status_code,
        "post_mentions": "exists already" in post.text,
        "own_a": own_a,
        "own_b": own_b,
    }


def run(results: pathlib.Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        m = measure(pathlib.Path(tmp))
    lines = [
        "## Existence across associations (ids unique within an association)",
        "",
        f"Association A holds the sample data set ({m['participants_in_a']} participants); B's coordinator imports the "
        "same files, then A and B both create participant P9999.",
        "",
        "| check | result |",
        "|---|---|",
        f"| B's import of A's ids (apply) | {m['apply_status']}: {m['created']} created in B, {m['refused']} refused |",
        f"| any import message naming A or 'another association' | {'yes' if m['mentions_a'] else 'no'} |",
        f"| B: `GET /participants/P9999` before B creates it (A has it) | {m['hidden_get']} |",
        f"| B: `POST /participants` P9999 | {m['hidden_post']}{' (exists already!)' if m['post_mentions'] else ''} |",
        f"| each reads its own P9999 afterwards | A: {m['own_a']}, B: {m['own_b']} |",
        "",
        'Before 0006_tenancy: the import refused every id A uses ("belongs to another association\'s participant"),',
        "and the POST answered 409 while the GET answered 404. Command: `python -m attacks tenancy` (`make attack`).",
        "",
    ]
    results.mkdir(parents=True, exist_ok=True)
    (results / "tenancy.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    import sys

    run(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "var/attacks"))
