"""GET /participants/{id}/suggestions does all its work in one thread (caller, role, data, audit) and encodes its
answer itself: what the dependencies and `response_model` guaranteed still holds, checked here where the generic
tests would not see a difference (the role matrix and the audit of every kind of request are in
tests/service/test_authorization.py and tests/service/audit/test_audit.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from service.auth.users import revoke_user
from service.db import models as db
from service.db.engine import transaction
from service.suggestions import service as suggestions_service
from service.suggestions.router import SuggestionsOut

API = "/api/v1"
DAY = "2026-11-23"
PATH = f"{API}/participants/P1/suggestions"


def ask(service: Any, who: str = "coach", participant: str = "P1") -> Any:
    return service.client.get(
        f"{API}/participants/{participant}/suggestions", params={"date": DAY}, headers=service.auth(who)
    )


def audit_rows(service: Any, participant: str = "P1") -> list[tuple[str, str | None, str, str | None]]:
    with transaction(service.factory, write=False) as session:
        rows = session.execute(
            select(db.AuditEntry.action, db.AuditEntry.user_name, db.AuditEntry.path, db.AuditEntry.method)
            .join(db.AuditParticipant)
            .where(db.AuditParticipant.participant_id == participant)
            .order_by(db.AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_answer_is_the_published_model_as_json(service):
    response = ask(service)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == SuggestionsOut.model_validate(body).model_dump(mode="json")  # every field, nothing more
    assert body["participant_id"] == "P1" and body["date"] == DAY and body["suggestions"]
    paths = service.client.get("/openapi.json").json()["paths"]
    operation = paths[f"{API}/participants/{{participant_id}}/suggestions"]
    ok = operation["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/SuggestionsOut"}
    assert operation["get"]["security"] == [{"HTTPBearer": []}]
    assert operation["get"]["x-roles"] == ["coach", "coordinator"]


def test_every_read_commits_its_own_audit_entry_before_the_answer(service):
    for expected in range(1, 4):
        assert ask(service).status_code == 200
        assert audit_rows(service) == [("read", "coach", PATH, "GET")] * expected


def test_no_answer_without_its_audit_entry(service, monkeypatch: pytest.MonkeyPatch):
    def failing(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT INTO audit_log", {}, Exception("disk I/O error"))

    monkeypatch.setattr(suggestions_service, "write_entry", failing)
    client = TestClient(service.client.app, raise_server_exceptions=False)  # as a caller sees it
    response = client.get(PATH, params={"date": DAY}, headers=service.auth("coach"))
    assert response.status_code >= 500 and "score" not in response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert audit_rows(service) == []


def test_a_revoked_token_is_refused_at_the_next_read(service):
    assert ask(service).status_code == 200  # the instance is compiled and kept: only the token changes
    with transaction(service.factory) as session:
        revoke_user(session, service.user_ids["coach"])
    response = ask(service)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_refusals_read_nothing_and_a_hidden_person_is_audited_as_denied(service):
    assert ask(service, "enterprise_manager").status_code == 403
    missing = service.client.get(PATH, params={"date": DAY})
    assert missing.status_code == 401
    assert ask(service, "other_coach").status_code == 404  # P1 is the coach's: outside the other coach's view
    assert ask(service, "foreign_coordinator").status_code == 404
    assert audit_rows(service) == [
        ("denied", "enterprise_manager", PATH, "GET"),
        ("denied", "other_coach", PATH, "GET"),
        ("denied", "foreign_coordinator", PATH, "GET"),
    ]
    with transaction(service.factory, write=False) as session:
        reads = session.scalar(select(func.count()).select_from(db.AuditEntry).where(db.AuditEntry.action == "read"))
    assert reads == 0


@pytest.mark.parametrize("gate", [1, 2])
def test_no_more_suggestions_are_computed_at_once_than_the_gate_lets_through(service, monkeypatch, gate):
    """`PLACEMENT_SUGGESTION_CONCURRENCY`: the rest wait their turn, and every one is answered."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    service.client.app.state.settings.suggestion_concurrency = gate
    service.client.app.state.__dict__.pop("suggestion_gate", None)  # made from the setting at the next request
    lock, running, most = threading.Lock(), [0], [0]
    compute = suggestions_service.suggestions_read_and_audited

    def counted(*args: Any, **kwargs: Any) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return compute(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(suggestions_service, "suggestions_read_and_audited", counted)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: ask(service).status_code, range(12)))
    assert answers == [200] * 12
    assert most[0] == gate
