"""The page routers of service/web follow the routers' layer rule (tests/service/test_layers.py): they speak HTTP
and call the feature services, never the database. One exception, named: `session.rollback()` after a refused
change, so the page that explains the refusal is rendered over a clean transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.test_layers import violations

WEB = Path(__file__).resolve().parents[2] / "service" / "web"
PAGE_ROUTERS = sorted(WEB.glob("*_pages.py"))
ALLOWED = "calls session.rollback()"


def test_there_are_page_routers_to_check() -> None:
    assert {p.stem for p in PAGE_ROUTERS} >= {
        "session_pages",
        "participant_pages",
        "manager_pages",
        "coordinator_pages",
        "import_pages",
    }


@pytest.mark.parametrize("module", PAGE_ROUTERS, ids=lambda p: p.stem)
def test_page_router_leaves_the_database_to_the_services(module: Path) -> None:
    found = violations(module.read_text(encoding="utf-8"), f"service/web/{module.name}")
    assert [v for v in found if not v.endswith(ALLOWED)] == []


def test_the_check_sees_a_query_in_a_page_router() -> None:
    bad = (
        "from sqlalchemy import select\nfrom service.db import models as db\ndef f(session):\n"
        "    return session.scalars(select(db.Participant.id))\n"
    )
    assert len(violations(bad, "x_pages.py")) == 3
