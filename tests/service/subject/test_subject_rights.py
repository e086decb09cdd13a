"""Data-subject rights (issue 14, item 10): the record of one participant, erasure under a pseudonym, retention
(`placement gallra`), the 409 of a plain delete pointing to erasure, and the audit of denied reads."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from placement_cli import app as cli
from service.core_bridge import load_instance
from service.db import models as db
from service.db.engine import transaction
from service.settings import get_settings
from service.subject.service import cutoff_of

API = "/api/v1"


def call(service: Any, who: str | None, method: str, path: str, json_body: Any = None) -> Any:
    headers = service.auth(who) if who else {}
    return service.client.request(method, API + path, json=json_body, headers=headers)


def placed_and_ended(service: Any, participant: str, slot: str, start: str, end: str, reason: str = "work") -> int:
    body = {"participant_id": participant, "slot_id": slot, "start_date": start}
    response = call(service, "coordinator", "POST", "/placements", body)
    assert response.status_code == 201, response.text
    placement = int(response.json()["id"])
    ended = call(service, "coordinator", "PATCH", f"/placements/{placement}", {"end_reason": reason, "end_date": end})
    assert ended.status_code == 200, ended.text
    return placement


def add_plan(service: Any) -> int:
    """A done plan whose stored result names P1 (a proposal and a text) and P12 (not P1: a different code)."""
    with transaction(service.factory) as session:
        plan = db.Plan(
            association_id="default",
            status=db.PlanStatus.done,
            plan_date=date(2026, 11, 23),
            time_limit_s=5.0,
            result={
                "proposals": [
                    {"participant_id": "P1", "slot_id": "furn", "change": "new"},
                    {"participant_id": "P2", "slot_id": None, "change": "unplaced"},
                ],
                "notes": ["P1: kept in 'furn'", "P12 is someone else"],
                "by_participant": {"P1": 3},
            },
        )
        session.add(plan)
        session.flush()
        return plan.id


def audit_rows(service: Any, action: str | None = None) -> list[db.AuditEntry]:
    with transaction(service.factory) as session:
        query = select(db.AuditEntry).order_by(db.AuditEntry.id)
        if action:
            query = query.where(db.AuditEntry.action == action)
        rows = list(session.scalars(query))
        for r in rows:
            _ = r.participants
            session.expunge(r)
        return rows


# --- the record ---------------------------------------------------------------------------------------------------


def test_the_record_holds_everything_stored_about_the_participant_and_is_audited(service):
    placement = placed_and_ended(service, "P1", "furn", "2025-01-01", "2025-06-30")
    with transaction(service.factory) as session:
        session.add(db.TravelTime(association_id="default", participant_id="P1", site_id="hantverk", minutes=25))
    plan_id = add_plan(service)
    assert call(service, "coach", "GET", "/participants/P1").status_code == 200  # one more audit entry about P1
    response = call(service, "coordinator", "GET", "/participants/P1/record")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["participant_id"] == "P1" and record["participant"]["id"] == "P1"
    assert record["participant"]["programme"] == "SAMRE" and record["participant"]["age"] == 31
    assert record["participant"]["coach_id"] == service.user_ids["coach"]
    assert record["current_slot_id"] is None
    assert record["travel_times"] == [{"site_id": "hantverk", "minutes": 25}]
    assert [(p["id"], p["end_reason"]) for p in record["placements"]] == [(placement, "work")]
    [plan] = record["plans"]
    assert plan["plan_id"] == plan_id
    assert plan["result"]["proposals"] == [{"participant_id": "P1", "slot_id": "furn", "change": "new"}]
    assert plan["result"]["notes"] == ["P1: kept in 'furn'"] and plan["result"]["by_participant"] == {"P1": 3}
    paths = [(a["action"], a["path"]) for a in record["audit"]]
    assert ("create", f"{API}/placements") in paths and ("read", f"{API}/participants/P1") in paths
    assert all("P1" in a["participant_ids"] for a in record["audit"])
    # The request is itself audited (after its answer was made, so not in it).
    last = audit_rows(service)[-1]
    assert (last.action, last.path, [p.participant_id for p in last.participants]) == (
        "read",
        f"{API}/participants/P1/record",
        ["P1"],
    )
    assert last.user_id == service.user_ids["coordinator"]


@pytest.mark.parametrize(
    ("who", "participant", "status"),
    [
        ("coach", "P1", 403),  # a coach, even for their own participant: the record names staff and other reads
        ("enterprise_manager", "P1", 403),
        ("foreign_coordinator", "P1", 404),
        ("coordinator", "nobody", 404),
        (None, "P1", 401),
    ],
)
def test_who_may_read_a_record_and_every_refusal_is_audited(service, who, participant, status):
    before = len(audit_rows(service))
    response = call(service, who, "GET", f"/participants/{participant}/record")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    rows = audit_rows(service)
    if who is None:
        assert len(rows) == before  # no caller to name
        return
    [denied] = rows[before:]
    assert denied.action == "denied" and denied.status == status and denied.user_id == service.user_ids[who]
    assert [p.participant_id for p in denied.participants] == [participant]
    assert denied.path == f"{API}/participants/{participant}/record" and denied.method == "GET"


def test_denied_reads_of_participants_and_placements_are_audited_and_shown_in_the_audit_log(service):
    assert call(service, "coach", "GET", "/participants/P4").status_code == 404  # the other coach's
    assert call(service, "enterprise_manager", "GET", "/participants").status_code == 403
    assert call(service, "coach", "GET", "/placements/999").status_code == 404
    assert call(service, "coordinator", "GET", "/slots/nope").status_code == 404  # not participant data
    denied = [
        (r.user_id, r.path, r.status, [p.participant_id for p in r.participants]) for r in audit_rows(service, "denied")
    ]
    assert denied == [
        (service.user_ids["coach"], f"{API}/participants/P4", 404, ["P4"]),
        (service.user_ids["enterprise_manager"], f"{API}/participants", 403, []),
        (service.user_ids["coach"], f"{API}/placements/999", 404, []),
    ]
    log = call(service, "coordinator", "GET", "/audit?action=denied&participant_id=P4").json()["items"]
    assert [(e["action"], e["status"], e["user_name"]) for e in log] == [("denied", 404, "coach")]


# --- erasure ------------------------------------------------------------------------------------------------------


def reports(service: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for by in ("enterprise", "site", "slot", "programme", "municipality"):
        found[by] = call(service, "coordinator", "GET", f"/reports/utilisation?by={by}&on=2026-12-01").json()
    found["outcomes"] = call(service, "coordinator", "GET", "/reports/outcomes").json()
    return found


def without_waiting(report: dict[str, Any]) -> Any:
    strip = ("waiting", "median_waiting_days")
    return (
        [{k: v for k, v in r.items() if k not in strip} for r in report["rows"]],
        {k: v for k, v in report["totals"].items() if k not in strip},
    )


def test_erasure_replaces_the_id_everywhere_and_leaves_the_aggregate_reports_as_they_were(service):
    placement = placed_and_ended(service, "P1", "furn", "2025-01-01", "2025-06-30", reason="studies")
    placed_and_ended(service, "P3", "furn", "2025-01-01", "2025-03-31", reason="health")
    current = call(
        service,
        "coordinator",
        "POST",
        "/placements",
        {"participant_id": "P5", "slot_id": "shop", "start_date": "2026-11-23"},
    )
    assert current.status_code == 201
    with transaction(service.factory) as session:
        session.add(db.TravelTime(association_id="default", participant_id="P1", site_id="hantverk", minutes=25))
    plan_id = add_plan(service)
    assert call(service, "coach", "GET", "/participants/P1").status_code == 200
    assert call(service, "other_coach", "GET", "/participants/P1").status_code == 404  # a denied read, audited
    before = reports(service)

    response = call(service, "coordinator", "POST", "/participants/P1/erasure")
    assert response.status_code == 200, response.text
    erased = response.json()
    pseudonym = erased["pseudonym"]
    assert pseudonym.startswith("ERASED-") and len(pseudonym) == len("ERASED-") + 12
    assert erased["placements"] == 1 and erased["travel_times"] == 1 and erased["plans"] == 1
    assert erased["audit_entries"] >= 4  # create + end of the placement, the coach's read, the denied read

    after = reports(service)
    assert after["outcomes"] == before["outcomes"]  # every ended placement still counted, by reason and programme
    for by in ("enterprise", "site", "slot", "programme", "municipality"):
        assert without_waiting(after[by]) == without_waiting(before[by]), by  # seats, taken, free, utilisation
    # P1 was waiting (no active placement); erased, they wait no more: `waiting` is who is in the queue on the
    # report's day, and an erased person has left it (docs/service.md). The only figure that moves: one person
    # fewer, in P1's own groups (programme SAMRE, municipality Sigtuna), and nowhere else.
    assert after["slot"]["totals"]["waiting"] == before["slot"]["totals"]["waiting"] - 1

    def waiting_by(report: dict[str, Any]) -> dict[Any, int]:
        return {r["key"]: r["waiting"] for r in report["rows"]}

    moved = {
        by: {
            k: n - waiting_by(before[by])[k] for k, n in waiting_by(after[by]).items() if n != waiting_by(before[by])[k]
        }
        for by in ("programme", "municipality")
    }
    assert moved == {"programme": {"SAMRE": -1}, "municipality": {"Sigtuna": -1}}, moved

    # The id is nowhere: not in placements, plans, the association's audit trail, travel times or participants.
    with transaction(service.factory) as session:
        assert session.get(db.Participant, ("default", "P1")) is None
        row = session.get(db.Participant, ("default", pseudonym))
        assert row is not None and row.erased_at is not None and row.programme == "SAMRE"
        assert (row.age, row.gender, row.lat, row.lon, row.needs, row.coach_id, row.municipality) == (
            None, None, 0.0, 0.0, [], None, "",
        )  # fmt: skip
        assert session.get(db.Placement, placement).participant_id == pseudonym  # type: ignore[union-attr]
        assert not list(
            session.scalars(select(db.TravelTime).where(db.TravelTime.participant_id.in_(["P1", pseudonym])))
        )
        plan = session.get(db.Plan, plan_id)
        assert plan is not None
        text = json.dumps(plan.result)
        assert '"P1"' not in text and "P1:" not in text and "P12 is someone else" in text
        assert plan.result["by_participant"] == {pseudonym: 3}
        assert plan.result["proposals"][0]["participant_id"] == pseudonym
        assert not list(session.scalars(select(db.AuditParticipant).where(db.AuditParticipant.participant_id == "P1")))
        assert not [e for e in session.scalars(select(db.AuditEntry)) if "/P1" in e.path]
        assert [e.reason for e in session.scalars(select(db.Erasure))] == ["request"]
        assert pseudonym not in {p.participant_id for p in load_instance(session, "default").participants}
    # The erasure itself is audited under the pseudonym.
    last = audit_rows(service)[-1]
    assert (last.action, last.path, [p.participant_id for p in last.participants]) == (
        "erase",
        f"{API}/participants/{pseudonym}/erasure",
        [pseudonym],
    )
    # No route shows the erased row; the code is free again; a second erasure finds no one.
    assert call(service, "coordinator", "GET", f"/participants/{pseudonym}").status_code == 404
    assert call(service, "coordinator", "GET", "/participants/P1").status_code == 404
    assert pseudonym not in call(service, "coordinator", "GET", "/participants").text
    assert call(service, "coordinator", "POST", "/participants/P1/erasure").status_code == 404


def test_a_second_erasure_gets_its_own_pseudonym(service):
    placed_and_ended(service, "P1", "furn", "2025-01-01", "2025-06-30")
    placed_and_ended(service, "P2", "furn", "2025-01-01", "2025-06-30")
    first = call(service, "coordinator", "POST", "/participants/P1/erasure").json()["pseudonym"]
    second = call(service, "coordinator", "POST", "/participants/P2/erasure").json()["pseudonym"]
    assert first != second


def test_erasure_is_refused_while_a_placement_is_active_and_for_other_roles(service):
    body = {"participant_id": "P1", "slot_id": "furn", "start_date": "2026-11-23"}
    placement = call(service, "coordinator", "POST", "/placements", body).json()["id"]
    response = call(service, "coordinator", "POST", "/participants/P1/erasure")
    assert response.status_code == 409 and response.json()["placement_id"] == placement
    assert f"PATCH /placements/{placement}" in response.json()["detail"]
    assert call(service, "coach", "POST", "/participants/P1/erasure").status_code == 403
    assert call(service, "enterprise_manager", "POST", "/participants/P1/erasure").status_code == 403
    assert call(service, "foreign_coordinator", "POST", "/participants/P1/erasure").status_code == 404


def test_a_plain_delete_with_placements_stays_409_and_points_to_erasure(service):
    placed_and_ended(service, "P1", "furn", "2025-01-01", "2025-06-30")
    response = call(service, "coordinator", "DELETE", "/participants/P1")
    assert response.status_code == 409
    assert "POST /participants/P1/erasure" in response.json()["detail"]
    assert call(service, "coordinator", "DELETE", "/participants/P6").status_code == 204  # never placed


# --- retention -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("older_than", "today", "cutoff"),
    [
        ("24m", date(2026, 12, 1), date(2024, 12, 1)),
        ("1m", date(2026, 3, 31), date(2026, 2, 28)),
        ("12M", date(2024, 2, 29), date(2023, 2, 28)),
        ("30d", date(2026, 3, 1), date(2026, 1, 30)),
    ],
)
def test_the_retention_period_in_months_or_days(older_than, today, cutoff):
    assert cutoff_of(older_than, today) == cutoff


@pytest.mark.parametrize("bad", ["24", "two years", "-3m", "5y", ""])
def test_a_retention_period_without_unit_is_refused(bad):
    with pytest.raises(ValueError, match="months or days"):
        cutoff_of(bad, date(2026, 1, 1))


@pytest.fixture
def gallra(service, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("PLACEMENT_DATABASE_URL", raising=False)
    monkeypatch.setenv("PLACEMENT_ASSOCIATION_ID", "default")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, ["gallra", *args])
    get_settings.cache_clear()


def test_gallra_is_a_dry_run_by_default_and_erases_with_apply(service, gallra):
    old = placed_and_ended(service, "P1", "furn", "2023-01-01", "2024-01-31")
    placed_and_ended(service, "P2", "furn", "2024-01-01", "2025-06-30")  # within 24 months of 2026-12-01
    placed_and_ended(service, "P3", "furn", "2022-01-01", "2022-06-30")
    body = {"participant_id": "P3", "slot_id": "furn", "start_date": "2026-11-23"}
    assert call(service, "coordinator", "POST", "/placements", body).status_code == 201  # P3 is active again
    before = reports(service)

    dry = gallra("--older-than", "24m", "--today", "2026-12-01")
    assert dry.exit_code == 0, dry.output
    assert "would erase P1 (last placement ended 2024-01-31)" in dry.output
    assert "P2" not in dry.output.split("never placed")[0] and "P3" not in dry.output
    assert "dry run: nothing was changed" in dry.output
    read = audit_rows(service)[-1]
    assert (read.action, read.method, [p.participant_id for p in read.participants]) == ("read", "CLI", ["P1"])
    assert call(service, "coordinator", "GET", "/participants/P1").status_code == 200

    applied = gallra("--older-than", "24m", "--apply", "--today", "2026-12-01")
    assert applied.exit_code == 0, applied.output
    assert "erased P1 (last placement ended 2024-01-31) -> ERASED-" in applied.output
    last = audit_rows(service)[-1]
    assert call(service, "coordinator", "GET", "/participants/P1").status_code == 404
    assert call(service, "coordinator", "GET", "/participants/P2").status_code == 200
    with transaction(service.factory) as session:
        pseudonym = session.get(db.Placement, old).participant_id  # type: ignore[union-attr]
        assert pseudonym.startswith("ERASED-")
        assert [e.reason for e in session.scalars(select(db.Erasure))] == ["retention"]
    assert (last.action, last.method, [p.participant_id for p in last.participants]) == ("erase", "CLI", [pseudonym])
    assert last.path == "placement gallra --older-than 24m --apply"
    after = reports(service)
    assert after["outcomes"] == before["outcomes"]
    assert without_waiting(after["slot"]) == without_waiting(before["slot"])
    # Run again: nothing left to do.
    again = gallra("--older-than", "24m", "--apply", "--today", "2026-12-01")
    assert "0 participant(s)" in again.output


def test_gallra_lists_participants_never_placed_but_does_not_erase_them(service, gallra):
    result = gallra("--older-than", "10d", "--apply", "--today", "2026-12-01")  # all waiting since 2026-01-01
    assert result.exit_code == 0, result.output
    assert "never placed, waiting since before 2026-11-21: 6 (not erased" in result.output
    assert call(service, "coordinator", "GET", "/participants/P5").status_code == 200


def test_gallra_refuses_a_period_without_unit(service, gallra):
    result = gallra("--older-than", "24")
    assert result.exit_code == 2 and "months or days" in result.output


def test_a_new_participant_cannot_take_a_pseudonyms_code(service):
    body = {
        "id": "ERASED-0123456789AB", "programme": "SAMRE", "municipality": "Sigtuna", "lat": 59.6, "lon": 17.8,
        "hours_per_week": 10, "days_available": ["mon"], "max_travel_minutes": 60,
    }  # fmt: skip
    response = call(service, "coordinator", "POST", "/participants", body)
    assert response.status_code == 422 and "ERASED-" in response.json()["detail"]


def test_a_plan_computed_before_an_erasure_never_places_the_erased_person(service):
    from tests.service.plans.test_apply import apply, proposals, solve

    plan = solve(service, allow_moves=False)
    new = sorted(pid for pid, p in proposals(plan).items() if p["change"] == "new")
    assert new, plan["result"]
    erased = call(service, "coordinator", "POST", f"/participants/{new[0]}/erasure").json()["pseudonym"]
    response = apply(service, plan["id"])
    assert response.status_code == 200, response.text
    outcomes = {o["participant_id"]: o for o in response.json()["outcomes"]}
    assert new[0] not in outcomes and outcomes[erased]["status"] == "refused"
    assert "no longer exists" in outcomes[erased]["reason"]
    with transaction(service.factory) as session:
        assert not list(session.scalars(select(db.Placement).where(db.Placement.participant_id == erased)))


# --- two associations sharing an id -------------------------------------------------------------------------------

B = "foreign_coordinator"  # association 'other', which creates its own P1 (and vk, vk1, sew) below


def _b_has_its_own_p1(service: Any) -> None:
    for path, body in (
        ("/enterprises", {"id": "vk", "name": "B:s Värmekällan", "municipality": "Luleå"}),
        ("/sites", {"id": "vk1", "enterprise_id": "vk", "name": "B", "municipality": "Luleå", "lat": 65.6,
                    "lon": 22.1}),
        ("/slots", {"id": "sew", "site_id": "vk1", "activity": "cafe", "seats": 2, "min_hours": 5, "max_hours": 20,
                    "days": ["mon"]}),
        ("/participants", {"id": "P1", "programme": "MIA", "municipality": "Luleå", "lat": 65.6, "lon": 22.1,
                           "hours_per_week": 15, "days_available": ["mon"], "max_travel_minutes": 30}),
    ):  # fmt: skip
        response = call(service, B, "POST", path, body)
        assert response.status_code == 201, (path, response.text)


def _placed_with_key(
    service: Any, who: str, participant: str, slot: str, key: str, end: str | None, start: str = "2025-01-01"
) -> int:
    body = {"participant_id": participant, "slot_id": slot, "start_date": start}
    headers = {**service.auth(who), "Idempotency-Key": key}
    response = service.client.post(f"{API}/placements", json=body, headers=headers)
    assert response.status_code == 201, response.text
    placement = int(response.json()["id"])
    if end is not None:
        patch = {"end_reason": "work", "end_date": end}
        assert call(service, who, "PATCH", f"/placements/{placement}", patch).status_code == 200
    return placement


def _keys(service: Any) -> dict[str, str | None]:
    with transaction(service.factory) as session:
        return {row.key: row.body for row in session.scalars(select(db.IdempotencyKey))}


def test_the_record_and_the_erasure_of_a_s_p1_never_touch_b_s_p1(service):
    """Ids are per association: A's P1 and B's P1 are two people. A's record shows none of B's rows, and A's erasure
    of P1 leaves B's P1, placement, travel time, plan, audit entries and kept idempotent answers as they were."""
    _b_has_its_own_p1(service)
    a_placement = _placed_with_key(service, "coordinator", "P1", "furn", "a-p1", "2025-06-30")
    _placed_with_key(service, "coordinator", "P2", "furn", "a-p2", None)
    b_placement = _placed_with_key(service, B, "P1", "sew", "b-p1", "2025-06-30")
    with transaction(service.factory) as session:
        session.add(db.TravelTime(association_id="default", participant_id="P1", site_id="hantverk", minutes=25))
        session.add(db.TravelTime(association_id="other", participant_id="P1", site_id="vk1", minutes=12))
        b_plan = db.Plan(
            association_id="other",
            status=db.PlanStatus.done,
            plan_date=date(2026, 11, 23),
            time_limit_s=5.0,
            result={"proposals": [{"participant_id": "P1", "slot_id": "sew", "change": "new"}], "notes": ["P1: B"]},
        )
        session.add(b_plan)
        session.flush()
        b_plan_id = b_plan.id
    a_plan_id = add_plan(service)
    assert call(service, B, "GET", "/participants/P1").status_code == 200  # B's read of its P1, audited in B
    assert set(_keys(service)) == {"a-p1", "a-p2", "b-p1"}

    got = call(service, "coordinator", "GET", "/participants/P1/record")
    assert got.status_code == 200, got.text
    mine = got.json()
    assert [p["id"] for p in mine["placements"]] == [a_placement]
    assert mine["travel_times"] == [{"site_id": "hantverk", "minutes": 25}]
    assert [p["plan_id"] for p in mine["plans"]] == [a_plan_id]
    assert mine["audit"] and B not in {e["user_name"] for e in mine["audit"]}
    assert mine["participant"]["association_id"] == "default"
    theirs = call(service, B, "GET", "/participants/P1/record").json()
    assert [p["id"] for p in theirs["placements"]] == [b_placement]
    assert theirs["travel_times"] == [{"site_id": "vk1", "minutes": 12}]
    assert [p["plan_id"] for p in theirs["plans"]] == [b_plan_id]
    assert {e["user_name"] for e in theirs["audit"]} == {B}

    erased = call(service, "coordinator", "POST", "/participants/P1/erasure")
    assert erased.status_code == 200, erased.text
    pseudonym = erased.json()["pseudonym"]
    assert erased.json()["placements"] == 1 and erased.json()["travel_times"] == 1 and erased.json()["plans"] == 1

    with transaction(service.factory) as session:
        assert session.get(db.Participant, ("default", "P1")) is None
        b_p1 = session.get(db.Participant, ("other", "P1"))
        assert b_p1 is not None and b_p1.erased_at is None and b_p1.municipality == "Luleå"
        assert session.get(db.Placement, a_placement).participant_id == pseudonym  # type: ignore[union-attr]
        assert session.get(db.Placement, b_placement).participant_id == "P1"  # type: ignore[union-attr]
        assert session.get(db.TravelTime, ("default", "P1", "hantverk")) is None
        assert session.get(db.TravelTime, ("other", "P1", "vk1")) is not None
        b_result = session.get(db.Plan, b_plan_id).result  # type: ignore[union-attr]
        assert b_result["proposals"][0]["participant_id"] == "P1" and b_result["notes"] == ["P1: B"]
        a_result = session.get(db.Plan, a_plan_id).result  # type: ignore[union-attr]
        assert a_result["proposals"][0]["participant_id"] == pseudonym
    # A's kept answer naming P1 is gone (a retry runs afresh); A's other answer and B's answer for its P1 stay.
    keys = _keys(service)
    assert set(keys) == {"a-p2", "b-p1"} and '"P1"' in (keys["b-p1"] or "")
    # B's audit trail still names its P1, on its path; A's names P1 nowhere.
    b_entries = [e for e in audit_rows(service) if e.user_name == B]
    assert any("P1" in [p.participant_id for p in e.participants] for e in b_entries)
    assert any(e.path == f"{API}/participants/P1" for e in b_entries)
    a_entries = [e for e in audit_rows(service) if e.user_name != B]
    assert not any("P1" in [p.participant_id for p in e.participants] or "/P1" in e.path for e in a_entries)
    # B still reads and places its P1; A no longer has one.
    assert call(service, B, "GET", "/participants/P1").status_code == 200
    assert call(service, "coordinator", "GET", "/participants/P1").status_code == 404
    assert [p["id"] for p in call(service, B, "GET", "/participants/P1/record").json()["placements"]] == [b_placement]


def test_gallra_of_one_association_leaves_the_other_s_same_id(service, gallra):
    """The CLI's association (default) is gallrad; B's P1, whose placement ended as long ago, is not touched."""
    _b_has_its_own_p1(service)
    _placed_with_key(service, "coordinator", "P1", "furn", "a-p1", "2020-06-30", start="2020-01-01")
    b_placement = _placed_with_key(service, B, "P1", "sew", "b-p1", "2020-06-30", start="2020-01-01")
    result = gallra("--older-than", "24m", "--today", "2026-11-23", "--apply")
    assert result.exit_code == 0, result.output
    assert "erased P1" in result.output
    with transaction(service.factory) as session:
        assert session.get(db.Participant, ("default", "P1")) is None
        assert session.get(db.Participant, ("other", "P1")) is not None
        assert session.get(db.Placement, b_placement).participant_id == "P1"  # type: ignore[union-attr]


def test_an_erasure_retried_with_its_idempotency_key_answers_the_same_pseudonym(service):
    placed_and_ended(service, "P1", "furn", "2025-01-01", "2025-06-30")
    headers = {**service.auth("coordinator"), "Idempotency-Key": "erase-p1"}
    first = service.client.post(f"{API}/participants/P1/erasure", headers=headers)
    again = service.client.post(f"{API}/participants/P1/erasure", headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json()["pseudonym"] == first.json()["pseudonym"]
    assert "P1" not in (_keys(service)["erase-p1"] or "x-P1")  # the kept answer names only the pseudonym
    without_key = call(service, "coordinator", "POST", "/participants/P1/erasure")
    assert without_key.status_code == 404  # a new request: P1 is no one now


def test_denied_participant_pages_are_audited_as_the_api_is(service):
    """The web pages answer an error page, not a problem body: a refusal there is a denied row all the same."""
    from tests.service.web.test_pages import _csrf, _login

    cases = [
        ("coach", "GET", "/deltagare/P4", 404, "P4"),  # the other coach's participant
        ("coach", "GET", "/deltagare/nobody", 404, "nobody"),  # no such participant
        ("foreign_coordinator", "GET", "/deltagare/P1", 404, "P1"),  # another association's
        ("enterprise_manager", "GET", "/deltagare/P1", 404, "P1"),  # a role without participants
        ("enterprise_manager", "GET", "/deltagare", 404, None),
        ("coach", "POST", "/deltagare/P4/placera", 404, "P4"),  # a place form for someone outside the view
    ]
    for who, method, path, status, participant in cases:
        _login(service, who)
        data = {}
        if method == "POST":
            form = service.client.get("/deltagare").text
            data = {"slot_id": "sew", "start_date": "2026-12-01", "csrf_token": _csrf(form)}
        before = len(audit_rows(service))
        page = service.client.request(method, path, data=data or None)
        assert page.status_code == status, (who, path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        [denied] = audit_rows(service)[before:]
        assert (denied.action, denied.method, denied.path, denied.status) == ("denied", method, path, status)
        assert denied.user_id == service.user_ids[who]
        assert [p.participant_id for p in denied.participants] == ([participant] if participant else [])
    # A slot that does not exist is not a denied read of participant data; an own participant's page is a read.
    _login(service, "coach")
    before = len(audit_rows(service))
    assert service.client.get("/deltagare/P1").status_code == 200
    assert [row.action for row in audit_rows(service)[before:]] == ["read"]
