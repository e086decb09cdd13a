"""The audit log is a record a person can read: one entry per request that read or changed participant data, with
the user's name and role and every participant it touched; none for a request that returned no participant data.
GET /audit filters by participant, user, action and date range, for coordinators only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, select, text, update

from service.db import models as db
from service.db.engine import transaction
from service.db.migrate import alembic_config, upgrade

# A stored plan result's summary as the solve writes it (service.plans.schemas.PlanSummary), with nothing placed.
SUMMARY = {
    "status": "optimal", "placed": 0, "total": 0, "total_score": 0, "placed_bound": 0, "score_bound": 0,
    "placed_gap": 0.0, "solve_seconds": 0.0, "changes": {},
}  # fmt: skip

API = "/api/v1"
DAY = "2026-11-23"


def call(service: Any, who: str, method: str, path: str, json: Any = None) -> Any:
    return service.client.request(method, API + path, json=json, headers=service.auth(who))


def entries(service: Any) -> list[db.AuditEntry]:
    with transaction(service.factory) as session:
        rows = list(session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.id)))
        for row in rows:
            row.participants  # noqa: B018  (loaded before the session closes)
        session.expunge_all()
        return rows


def touched(entry: db.AuditEntry) -> list[str]:
    return [p.participant_id for p in entry.participants]


def audit(service: Any, query: str = "", who: str = "coordinator") -> dict[str, Any]:
    response = call(service, who, "GET", f"/audit{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def add_plan(service: Any, status: db.PlanStatus, proposals: list[dict[str, Any]] | None = None) -> int:
    result = None if proposals is None else {"format": 2, "summary": SUMMARY, "warnings": [], "proposals": proposals}
    with transaction(service.factory) as session:
        for p in proposals or []:  # what the solve saw: the slot as it is now, so the proposal is not stale
            slot = session.get(db.Slot, ("default", p["slot_id"])) if p["slot_id"] else None
            p["site_id"] = slot.site_id if slot else None
            p["premise"] = {
                "placement_id": None,
                "slot_version": slot.version if slot else None,
                "site_supervisor_hours": slot.site.supervisor_hours if slot else None,
            }
        plan = db.Plan(
            association_id="default", status=status, plan_date=date(2026, 11, 23), time_limit_s=5.0, result=result
        )
        session.add(plan)
        session.flush()
        return plan.id


def proposal(pid: str, slot: str | None, change: str) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "slot_id": slot,
        "site_id": None,
        "enterprise_id": None,
        "current_slot_id": None,
        "change": change,
        "travel_minutes": None,
        "score": None,
        "score_parts": {},
        "pinned": False,
        "kept_despite": [],
    }


# --- one entry per request ---------------------------------------------------------------------------------------


def test_a_list_of_participants_writes_one_entry_naming_each(service):
    assert call(service, "coach", "GET", "/participants").status_code == 200
    [entry] = entries(service)
    assert touched(entry) == ["P1", "P2", "P3"]
    assert (entry.user_id, entry.user_name, entry.user_role) == (service.user_ids["coach"], "coach", "coach")
    assert (entry.action, entry.method, entry.path) == ("read", "GET", f"{API}/participants")
    # A page with nobody on it read no participant data.
    assert call(service, "coach", "GET", "/participants?offset=10").json()["items"] == []
    assert len(entries(service)) == 1


def test_each_kind_of_request_writes_one_entry(service):
    assert call(service, "coach", "GET", "/participants/P1").status_code == 200
    assert call(service, "coach", "PATCH", "/participants/P2", {"hours_per_week": 12}).status_code == 200
    assert call(service, "coach", "GET", f"/participants/P1/suggestions?date={DAY}").status_code == 200
    placed = call(
        service, "coach", "POST", "/placements", {"participant_id": "P3", "slot_id": "furn", "start_date": DAY}
    )
    assert placed.status_code == 201
    assert call(service, "coordinator", "GET", "/placements").status_code == 200
    ended = call(service, "coordinator", "PATCH", f"/placements/{placed.json()['id']}", {"end_reason": "work"})
    assert ended.status_code == 200
    assert call(service, "coach", "GET", "/participants/P4").status_code == 404  # refused: nothing read, but denied
    got = [(e.user_name, e.action, e.method, e.path, touched(e)) for e in entries(service)]
    assert got == [
        ("coach", "read", "GET", f"{API}/participants/P1", ["P1"]),
        ("coach", "update", "PATCH", f"{API}/participants/P2", ["P2"]),
        ("coach", "read", "GET", f"{API}/participants/P1/suggestions", ["P1"]),
        ("coach", "create", "POST", f"{API}/placements", ["P3"]),
        ("coordinator", "read", "GET", f"{API}/placements", ["P3"]),
        ("coordinator", "update", "PATCH", f"{API}/placements/{placed.json()['id']}", ["P3"]),
        ("coach", "denied", "GET", f"{API}/participants/P4", ["P4"]),  # issue 14: denied attempts are audited
    ]


def test_slot_and_site_changes_are_not_participant_data(service):
    tag = call(service, "enterprise_manager", "GET", "/slots/sew").headers["etag"]
    response = service.client.patch(
        f"{API}/slots/sew", json={"seats": 2}, headers={**service.auth("enterprise_manager"), "If-Match": tag}
    )
    assert response.status_code == 200
    assert entries(service) == []  # kept in the slot's history instead
    assert call(service, "coordinator", "GET", "/slots/sew/history").json()[-1]["field"] == "seats"


def test_polling_a_plan_writes_an_entry_only_when_it_returns_participant_data(service):
    running = add_plan(service, db.PlanStatus.running)
    for _ in range(5):
        assert call(service, "coordinator", "GET", f"/plans/{running}").status_code == 200
    assert entries(service) == []  # status and progress only
    done = add_plan(service, db.PlanStatus.done, [proposal("P1", "furn", "new"), proposal("P2", None, "still_waiting")])
    for _ in range(3):
        assert call(service, "coordinator", "GET", f"/plans/{done}").status_code == 200
    polls = entries(service)
    assert [touched(e) for e in polls] == [["P1", "P2"]] * 3  # one entry per poll, not one per participant
    # Only the changes: P2 is not returned, so not read.
    assert call(service, "coordinator", "GET", f"/plans/{done}?changes_only=true").status_code == 200
    assert touched(entries(service)[-1]) == ["P1"]
    quiet = add_plan(service, db.PlanStatus.done, [proposal("P2", None, "still_waiting")])
    assert call(service, "coordinator", "GET", f"/plans/{quiet}?changes_only=true").json()["result"]["proposals"] == []
    assert len(entries(service)) == 4
    assert call(service, "coordinator", "GET", "/plans").status_code == 200  # lists carry no proposals
    assert len(entries(service)) == 4


def test_applying_a_plan_writes_one_entry_for_the_participants_placed(service):
    plan = add_plan(service, db.PlanStatus.done, [proposal("P1", "furn", "new"), proposal("P3", "furn", "new")])
    applied = call(service, "coordinator", "POST", f"/plans/{plan}/apply", {})
    assert applied.status_code == 200 and applied.json()["applied"] == 2, applied.text
    [entry] = entries(service)
    assert (entry.action, entry.method, touched(entry)) == ("update", "POST", ["P1", "P3"])
    assert entry.user_role == "coordinator"


def test_applying_a_plan_whose_proposals_are_all_refused_is_a_read_of_those_named(service):
    # sew has one seat: P1 takes it first, so the plan's proposal of sew for P4 is refused with its reason.
    assert call(service, "coordinator", "POST", "/placements", {"participant_id": "P1", "slot_id": "sew",
                "start_date": "2026-11-23"}).status_code == 201  # fmt: skip
    plan = add_plan(service, db.PlanStatus.done, [proposal("P4", "sew", "new")])
    before = len(entries(service))
    applied = call(service, "coordinator", "POST", f"/plans/{plan}/apply", {})
    assert applied.status_code == 200 and applied.json()["applied"] == 0, applied.text
    assert [o["participant_id"] for o in applied.json()["outcomes"]] == ["P4"]
    [entry] = entries(service)[before:]
    assert (entry.action, touched(entry)) == ("read", ["P4"])


# --- GET /audit --------------------------------------------------------------------------------------------------


def _backdate(service: Any, entry_id: int, at: datetime) -> None:
    with transaction(service.factory) as session:
        session.execute(update(db.AuditEntry).where(db.AuditEntry.id == entry_id).values(at=at))


def test_get_audit_filters_by_participant_user_action_and_dates(service):
    call(service, "coach", "GET", "/participants")  # P1–P3
    call(service, "coordinator", "GET", "/participants/P2")
    call(service, "coordinator", "PATCH", "/participants/P2", {"hours_per_week": 11})
    call(service, "other_coach", "GET", "/participants/P4")
    first, second, third, fourth = (e.id for e in entries(service))
    _backdate(service, first, datetime(2025, 12, 31, 23, 59, tzinfo=UTC))  # last year
    _backdate(service, second, datetime(2026, 3, 1, 8, 0, tzinfo=UTC))

    everything = audit(service)
    assert [e["id"] for e in everything["items"]] == [fourth, third, second, first]  # newest first
    assert everything["items"][-1] == {
        "id": first,
        "at": "2025-12-31T23:59:00Z",
        "user_id": service.user_ids["coach"],
        "user_name": "coach",
        "role": "coach",
        "action": "read",
        "method": "GET",
        "path": f"{API}/participants",
        "participant_ids": ["P1", "P2", "P3"],
        "status": None,  # set only for a denied attempt
    }
    # Who has read P2's data this year? One call.
    this_year = audit(service, "?participant_id=P2&action=read&from=2026-01-01")
    assert [(e["id"], e["user_name"], e["role"]) for e in this_year["items"]] == [
        (second, "coordinator", "coordinator")
    ]
    assert [e["id"] for e in audit(service, "?participant_id=P2")["items"]] == [third, second, first]
    assert audit(service, "?participant_id=P6")["total"] == 0
    mine = audit(service, f"?user_id={service.user_ids['coordinator']}")
    assert [e["id"] for e in mine["items"]] == [third, second]
    # Dates are whole days (UTC), both ends included.
    assert [e["id"] for e in audit(service, "?to=2025-12-31")["items"]] == [first]
    assert [e["id"] for e in audit(service, "?from=2026-03-01&to=2026-03-01")["items"]] == [second]
    assert audit(service, "?from=2026-03-02&to=2026-03-02")["total"] == 0
    # Paginated as every list.
    page = audit(service, "?limit=2&offset=1")
    assert ([e["id"] for e in page["items"]], page["total"], page["limit"]) == ([third, second], 4, 2)


def test_get_audit_refuses_bad_filters(service):
    for query, field in (
        ("?from=2026-02-01&to=2026-01-01", "from"),
        ("?from=yesterday", "from"),
        ("?action=peek", "action"),
    ):
        response = call(service, "coordinator", "GET", f"/audit{query}")
        assert response.status_code == 422, response.text
        assert field in response.text


def test_only_coordinators_read_the_audit_and_only_their_associations(service):
    call(service, "coach", "GET", "/participants/P1")
    for who in ("coach", "enterprise_manager"):
        response = call(service, who, "GET", "/audit")
        assert response.status_code == 403 and response.headers["content-type"].startswith("application/problem+json")
    assert audit(service)["total"] == 1
    assert audit(service, who="foreign_coordinator")["total"] == 0
    assert audit(service, "?participant_id=P1", who="foreign_coordinator")["total"] == 0


def test_the_trail_outlives_a_deleted_participant(service):
    assert call(service, "coordinator", "GET", "/participants/P6").status_code == 200
    assert call(service, "coordinator", "DELETE", "/participants/P6").status_code == 204
    assert [(e["action"], e["participant_ids"]) for e in audit(service, "?participant_id=P6")["items"]] == [
        ("delete", ["P6"]),
        ("read", ["P6"]),
    ]


# --- the migration keeps the old trail ----------------------------------------------------------------------------


def test_migration_0002_turns_old_entries_into_entries_with_participants_and_back(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO associations (id, name) VALUES ('a', 'A')"))
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, association_id, token_hash, created_at) "
                "VALUES (1, 'anna', 'coach', 'a', 'h', '2026-01-01 00:00:00')"
            )
        )
        insert = text(
            "INSERT INTO audit_log (at, user_id, action, entity_type, entity_id, endpoint) "
            "VALUES ('2026-02-01 10:00:00', 1, :action, :type, :id, :endpoint)"
        )
        conn.execute(insert, {"action": "read", "type": "participant", "id": "P1", "endpoint": "/api/v1/participants"})
        conn.execute(insert, {"action": "read", "type": "participant", "id": "P2", "endpoint": "/api/v1/participants"})
        conn.execute(insert, {"action": "update", "type": "slot", "id": "sew", "endpoint": "/api/v1/slots/sew"})
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, user_name, user_role, action, method, path FROM audit_log ORDER BY id")
        ).all()
        links = conn.execute(text("SELECT audit_id, participant_id FROM audit_participants ORDER BY audit_id")).all()
    assert [tuple(r) for r in rows] == [
        (1, "anna", "coach", "read", None, "/api/v1/participants"),
        (2, "anna", "coach", "read", None, "/api/v1/participants"),
        (3, "anna", "coach", "update", None, "/api/v1/slots/sew"),  # kept, with no participant
    ]
    assert [tuple(r) for r in links] == [(1, "P1"), (2, "P2")]
    # A new entry of two participants goes back as two old ones.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (id, at, user_id, user_name, user_role, action, method, path) "
                "VALUES (4, '2026-03-01 10:00:00', 1, 'anna', 'coach', 'read', 'GET', '/api/v1/placements')"
            )
        )
        conn.execute(text("INSERT INTO audit_participants (audit_id, participant_id) VALUES (4, 'P3'), (4, 'P1')"))
    command.downgrade(alembic_config(url), "0001")
    with engine.connect() as conn:
        old = conn.execute(text("SELECT action, entity_type, entity_id, endpoint FROM audit_log ORDER BY id")).all()
    engine.dispose()
    assert sorted(tuple(r) for r in old) == sorted(
        [
            ("read", "participant", "P1", "/api/v1/participants"),
            ("read", "participant", "P2", "/api/v1/participants"),
            ("update", "request", "", "/api/v1/slots/sew"),
            ("read", "participant", "P1", "/api/v1/placements"),
            ("read", "participant", "P3", "/api/v1/placements"),
        ]
    )
