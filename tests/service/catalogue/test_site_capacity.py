"""Site capacity is guarded like slot capacity: ETag/If-Match (428/412), a 409 naming the active placements that
need the supervisor hours (and who may end or move them), and a change history. A plan that cannot be made because
pinned placements overfill a site or slot says so in the service's terms, not in file:row terms."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from service.db import models as db
from service.db.engine import transaction
from service.plans.job import run_plan

API = "/api/v1"
DAY = "2026-11-23"


def call(service: Any, who: str, method: str, path: str, json: Any = None, **headers: str) -> Any:
    return service.client.request(method, API + path, json=json, headers={**service.auth(who), **headers})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"], body
    return body


def place(service: Any, participant: str, slot: str) -> int:
    response = call(
        service,
        "coordinator",
        "POST",
        "/placements",
        {"participant_id": participant, "slot_id": slot, "start_date": DAY},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def etag(service: Any, path: str, who: str = "coordinator") -> str:
    response = call(service, who, "GET", path)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


def patch_site(service: Any, who: str, body: dict[str, Any], site: str = "vk2") -> Any:
    return call(service, who, "PATCH", f"/sites/{site}", body, **{"If-Match": etag(service, f"/sites/{site}", who)})


def site_history(service: Any, site: str = "vk2") -> list[dict[str, Any]]:
    response = call(service, "coordinator", "GET", f"/sites/{site}/history")
    assert response.status_code == 200, response.text
    return list(response.json())


@pytest.fixture
def two_at_vk2(service: Any) -> tuple[int, int]:
    """vk2 raised to 5 supervisor hours, then P1 (the coach's) and P4 (the other coach's) in shop: 2.5 h each."""
    assert patch_site(service, "coordinator", {"supervisor_hours": 5}).status_code == 200
    return place(service, "P1", "shop"), place(service, "P4", "shop")


# --- ETag and If-Match -------------------------------------------------------------------------------------------


def test_site_patch_without_if_match_is_428_and_changes_nothing(service):
    before = call(service, "coordinator", "GET", "/sites/vk2")
    body = assert_problem(call(service, "coordinator", "PATCH", "/sites/vk2", {"supervisor_hours": 1}), 428)
    assert "If-Match" in body["detail"]
    assert_problem(call(service, "coordinator", "PATCH", "/sites/vk2", {"name": "x"}, **{"If-Match": " "}), 428)
    after = call(service, "coordinator", "GET", "/sites/vk2")
    assert after.json() == before.json() and after.headers["etag"] == before.headers["etag"]


def test_site_patch_with_a_stale_etag_is_412_and_every_change_moves_the_etag(service):
    first = etag(service, "/sites/vk1")
    changed = call(
        service, "enterprise_manager", "PATCH", "/sites/vk1", {"name": "Värmekällan Huset"}, **{"If-Match": first}
    )
    assert changed.status_code == 200, changed.text
    new = changed.headers["etag"]
    assert new != first and etag(service, "/sites/vk1") == new
    assert changed.json()["version"] == 2
    stale = call(service, "coordinator", "PATCH", "/sites/vk1", {"supervisor_hours": 9}, **{"If-Match": first})
    body = assert_problem(stale, 412)
    assert body["current_etag"] == new
    assert call(service, "coordinator", "GET", "/sites/vk1").json()["supervisor_hours"] is None
    assert_problem(call(service, "coordinator", "PATCH", "/sites/vk1", {"name": "x"}, **{"If-Match": "garbage"}), 412)
    # The ETag is the site's: another site's or a slot's does not fit.
    assert_problem(
        call(service, "coordinator", "PATCH", "/sites/vk1", {"name": "x"}, **{"If-Match": etag(service, "/sites/vk2")}),
        412,
    )
    again = call(service, "coordinator", "PATCH", "/sites/vk1", {"supervisor_hours": 9}, **{"If-Match": new})
    assert again.status_code == 200 and again.json()["supervisor_hours"] == 9
    assert again.headers["etag"] != new


def test_created_site_has_an_etag(service):
    body = {
        "id": "vk9",
        "enterprise_id": "vk",
        "name": "Annex",
        "municipality": "Upplands Väsby",
        "lat": 59.5,
        "lon": 17.9,
    }
    created = call(service, "enterprise_manager", "POST", "/sites", {**body, "supervisor_hours": 4})
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == etag(service, "/sites/vk9")
    listed = call(service, "coordinator", "GET", "/sites?enterprise_id=vk").json()["items"]
    assert {s["id"]: s["version"] for s in listed} == {"vk1": 1, "vk2": 1, "vk9": 1}


# --- 409 below what the active placements need -------------------------------------------------------------------


def test_supervisor_hours_below_the_need_of_active_placements_is_409_naming_them(service, two_at_vk2):
    p1, p4 = two_at_vk2
    tag = etag(service, "/sites/vk2")
    history = site_history(service)
    refused = call(service, "coordinator", "PATCH", "/sites/vk2", {"supervisor_hours": 3}, **{"If-Match": tag})
    body = assert_problem(refused, 409)
    assert body["placements"] == [p1, p4]
    assert body["reason"] == "supervision_needed" and body["supervisor_hours_needed"] == 5
    assert "site Värmekällan Second hand (vk2)" in body["detail"] and "need 5 supervisor hours" in body["detail"]
    assert f"end or move placements {p1}, {p4} first" in body["detail"]  # a coordinator may do that
    assert ".csv" not in body["detail"]
    # Nothing changed: not the hours, not the ETag, not the history.
    after = call(service, "coordinator", "GET", "/sites/vk2")
    assert (after.json()["supervisor_hours"], after.headers["etag"]) == (5, tag)
    assert site_history(service) == history
    # Exactly the need is enough, and so is no limit; ended placements need nothing.
    exact = call(service, "coordinator", "PATCH", "/sites/vk2", {"supervisor_hours": 5.0}, **{"If-Match": tag})
    assert exact.status_code == 200, exact.text
    ended = call(service, "coordinator", "PATCH", f"/placements/{p4}", {"end_reason": "completed", "end_date": DAY})
    assert ended.status_code == 200, ended.text
    lowered = patch_site(service, "coordinator", {"supervisor_hours": 2.5})
    assert lowered.status_code == 200, lowered.text
    assert_problem(patch_site(service, "coordinator", {"supervisor_hours": 2}), 409)
    assert patch_site(service, "coordinator", {"supervisor_hours": None}).json()["supervisor_hours"] is None


def test_other_site_fields_change_whatever_the_need(service, two_at_vk2):
    renamed = patch_site(service, "enterprise_manager", {"name": "Second hand"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["supervisor_hours"] == 5


def test_the_managers_409_says_who_may_act_and_what_the_manager_can_do(service, two_at_vk2):
    p1, p4 = two_at_vk2
    body = assert_problem(patch_site(service, "enterprise_manager", {"supervisor_hours": 1}), 409)
    detail = body["detail"]
    assert body["placements"] == [p1, p4]
    assert (
        f"can be ended or moved by the coordinator or each participant's coach (coach: {p1}; other_coach: {p4})"
        in detail
    )
    assert (
        "You can lower the supervisor hours when those placements have ended, or schedule them from a date with "
        "POST /sites/vk2/scheduled-changes, or ask the coordinator." in detail
    )
    assert "first" not in detail  # not told to do what a manager may not do
    assert body["who_can_act"] == [
        {"role": "coordinator", "placements": [p1, p4]},
        {"role": "coach", "user_id": service.user_ids["coach"], "name": "coach", "placements": [p1]},
        {"role": "coach", "user_id": service.user_ids["other_coach"], "name": "other_coach", "placements": [p4]},
    ]
    assert "P1" not in repr(body) and "P4" not in repr(body)  # a manager never learns who
    # What the message says a manager cannot do, they indeed cannot.
    assert_problem(call(service, "enterprise_manager", "PATCH", f"/placements/{p1}", {"end_reason": "work"}), 403)
    # And the coach it names can.
    assert (
        call(service, "coach", "PATCH", f"/placements/{p1}", {"end_reason": "health", "end_date": DAY}).status_code
        == 200
    )


def test_the_managers_409_for_seats_names_who_may_act(service):
    p1, p4 = place(service, "P1", "furn"), place(service, "P4", "sew")
    place(service, "P5", "garden")  # P5 has no coach
    tag = etag(service, "/slots/sew", "enterprise_manager")
    body = assert_problem(
        call(service, "enterprise_manager", "PATCH", "/slots/sew", {"seats": 0}, **{"If-Match": tag}), 409
    )
    assert body["placements"] == [p4] and body["reason"] == "seats_taken"
    assert f"the coordinator or each participant's coach (other_coach: {p4})" in body["detail"]
    assert (
        "You can lower the seats when those placements have ended, or schedule the lower seats from a date with "
        "POST /slots/sew/scheduled-changes, or ask the coordinator." in body["detail"]
    )
    assert "first" not in body["detail"] and "P4" not in repr(body)
    assert [a["role"] for a in body["who_can_act"]] == ["coordinator", "coach"]
    # A placement whose participant has no coach: only the coordinator is named.
    tag = etag(service, "/slots/garden", "enterprise_manager")
    nobody = assert_problem(
        call(service, "enterprise_manager", "PATCH", "/slots/garden", {"seats": 0}, **{"If-Match": tag}), 409
    )
    assert "can be ended or moved by the coordinator." in nobody["detail"]
    assert nobody["who_can_act"] == [{"role": "coordinator", "placements": nobody["placements"]}]
    # The coordinator is told to end or move them.
    tag = etag(service, "/slots/furn")
    mine = assert_problem(call(service, "coordinator", "PATCH", "/slots/furn", {"seats": 0}, **{"If-Match": tag}), 409)
    assert f"end or move placements {p1} first" in mine["detail"]


def test_a_higher_supervision_ratio_than_the_site_can_supervise_is_409(service, two_at_vk2):
    p1, p4 = two_at_vk2  # 2 × 10 h × 0.25 = 5 h, all vk2 has
    tag = etag(service, "/slots/shop", "enterprise_manager")
    body = assert_problem(
        call(service, "enterprise_manager", "PATCH", "/slots/shop", {"supervision_ratio": 0.5}, **{"If-Match": tag}),
        409,
    )
    assert body["placements"] == [p1, p4] and body["supervisor_hours_needed"] == 10
    assert "supervision_ratio 0.5 would make the active placements" in body["detail"]
    assert "You can raise the site's supervisor_hours first" in body["detail"]
    assert call(service, "coordinator", "GET", "/slots/shop").headers["etag"] == tag  # nothing changed
    lower = call(service, "enterprise_manager", "PATCH", "/slots/shop", {"supervision_ratio": 0.2}, **{"If-Match": tag})
    assert lower.status_code == 200, lower.text
    assert patch_site(service, "enterprise_manager", {"supervisor_hours": 10}).status_code == 200
    higher = call(
        service, "enterprise_manager", "PATCH", "/slots/shop", {"supervision_ratio": 0.5},
        **{"If-Match": lower.headers["etag"]},
    )  # fmt: skip
    assert higher.status_code == 200, higher.text


# --- history -----------------------------------------------------------------------------------------------------


def test_site_changes_are_kept_in_the_history(service, two_at_vk2):
    manager = service.user_ids["enterprise_manager"]
    assert (
        patch_site(
            service, "enterprise_manager", {"supervisor_hours": 6, "name": "Second hand", "lat": 59.52}
        ).status_code
        == 200
    )
    rows = site_history(service)
    assert [(r["field"], r["old_value"], r["new_value"]) for r in rows] == [
        ("supervisor_hours", 2.5, 5),  # the fixture's change
        ("name", "Värmekällan Second hand", "Second hand"),  # unchanged lat leaves no row
        ("supervisor_hours", 5, 6),
    ]
    assert all(r["site_id"] == "vk2" and r["slot_id"] is None and r["changed_at"] for r in rows)
    assert [r["user_id"] for r in rows] == [service.user_ids["coordinator"], manager, manager]
    assert call(service, "enterprise_manager", "GET", "/sites/vk2/history").json() == rows
    assert call(service, "coordinator", "GET", "/slots/shop/history").json() == []  # slots keep their own
    # A new site starts its history with its supervisor hours.
    body = {
        "id": "vk9",
        "enterprise_id": "vk",
        "name": "Annex",
        "municipality": "Upplands Väsby",
        "lat": 59.5,
        "lon": 17.9,
    }
    assert call(service, "coordinator", "POST", "/sites", {**body, "supervisor_hours": 4}).status_code == 201
    assert [(r["field"], r["old_value"], r["new_value"]) for r in site_history(service, "vk9")] == [
        ("supervisor_hours", None, 4)
    ]
    assert_problem(call(service, "coordinator", "GET", "/sites/nope/history"), 404)


# --- a plan that cannot be made says why in the service's terms --------------------------------------------------


def _queued_plan(service: Any) -> int:
    with transaction(service.factory) as session:
        plan = db.Plan(
            association_id="default", status=db.PlanStatus.queued, plan_date=date(2026, 11, 23), time_limit_s=5.0
        )
        session.add(plan)
        session.flush()
        return plan.id


def _set(service: Any, model: type[db.Base], key: str, **values: Any) -> None:
    """Bypass the API (as an old database or a direct edit would): the API itself refuses these values now."""
    with transaction(service.factory) as session:
        row = session.get(model, ("default", key))
        for name, value in values.items():
            setattr(row, name, value)


def test_a_plan_failing_for_supervisor_hours_names_the_site_and_pinned_placements(service, database_url):
    placement = place(service, "P1", "shop")
    assert call(service, "coordinator", "PATCH", "/participants/P1", {"pinned": True}).status_code == 200
    _set(service, db.Site, "vk2", supervisor_hours=1.0)
    plan_id = _queued_plan(service)
    run_plan(plan_id, database_url)
    plan = call(service, "coordinator", "GET", f"/plans/{plan_id}").json()
    assert plan["status"] == "failed"
    assert plan["error"] == (
        f"the data cannot be planned: site Värmekällan Second hand (vk2): the pinned placements {placement} need 2.5 "
        "supervisor hours a week, it has 1; raise the site's supervisor_hours, or unpin or end some of those "
        "placements (the coordinator or each participant's coach)"
    )
    assert ".csv" not in plan["error"]


def test_a_plan_failing_for_seats_names_the_slot_and_pinned_placements(service, database_url):
    placements = [place(service, pid, "furn") for pid in ("P1", "P3")]
    for pid in ("P1", "P3"):
        assert call(service, "coordinator", "PATCH", f"/participants/{pid}", {"pinned": True}).status_code == 200
    _set(service, db.Slot, "furn", seats=1)
    plan_id = _queued_plan(service)
    run_plan(plan_id, database_url)
    with transaction(service.factory) as session:
        plan = session.scalar(select(db.Plan).where(db.Plan.id == plan_id))
        assert plan is not None
        status, error = plan.status, plan.error
    assert status is db.PlanStatus.failed
    assert error is not None and ".csv" not in error
    assert (
        f"slot furn (furniture_renovation, site hantverk): the pinned placements {placements[0]}, {placements[1]} "
        "hold 2 seats, it has 1; raise the slot's seats" in error
    )


# --- migration 0002 keeps every row of the tables that refer to sites --------------------------------------------


def test_migration_0002_keeps_the_rows_that_refer_to_sites(tmp_path):
    """SQLite runs with foreign keys on: rebuilding `sites` would cascade into travel times and history."""
    from alembic import command
    from sqlalchemy import text

    from service.db.engine import make_engine
    from service.db.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'filled.db'}"
    command.upgrade(alembic_config(url), "0001")
    engine = make_engine(url)
    statements = [
        "INSERT INTO associations (id, name) VALUES ('a', 'A')",
        "INSERT INTO enterprises (id, association_id, name, municipality) VALUES ('e', 'a', 'E', 'S')",
        "INSERT INTO sites (id, enterprise_id, name, municipality, lat, lon, accessibility, supervisor_hours) "
        "VALUES ('s', 'e', 'S', 'S', 59.6, 17.9, '[]', 4)",
        "INSERT INTO slots (id, site_id, activity, seats, min_hours, max_hours, days, supports, programmes, "
        "women_only, supervision_ratio, version) VALUES ('x', 's', 'a', 2, 5, 20, '[]', '[]', '[]', false, 0.25, 1)",
        "INSERT INTO participants (id, association_id, programme, municipality, lat, lon, hours_per_week, "
        "days_available, max_travel_minutes, travel_mode, needs, preferences, avoid_enterprises, pinned) "
        "VALUES ('P1', 'a', 'SAMRE', 'S', 59.6, 17.9, 10, '[]', 60, 'transit', '[]', '[]', '[]', false)",
        "INSERT INTO travel_times (participant_id, site_id, minutes) VALUES ('P1', 's', 20)",
        "INSERT INTO placements (participant_id, slot_id, start_date, created_at) "
        "VALUES ('P1', 'x', '2026-01-01', '2026-01-01 00:00:00')",
        "INSERT INTO capacity_history (slot_id, changed_at, field, old_value, new_value) "
        "VALUES ('x', '2026-01-01 00:00:00', 'seats', 'null', '2')",
    ]
    tables = ("sites", "slots", "travel_times", "placements", "capacity_history")

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}

    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    before = counts()
    upgrade(url)
    assert counts() == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version, supervisor_hours FROM sites")).one() == (1, 4)
        assert conn.execute(text("SELECT slot_id, site_id FROM capacity_history")).one() == ("x", None)
    command.downgrade(alembic_config(url), "0001")
    assert counts() == before
    engine.dispose()


# --- races -------------------------------------------------------------------------------------------------------


def test_lowering_supervisor_hours_while_someone_takes_a_placement(service):
    """vk2 at 5 h holds P1 (2.5 h); the manager lowers it to 2.5 h while a coach places P2 (2.5 h) there.

    Either order is fine, but never both: the site never ends with more need than supervisor hours."""
    from tests.service.placements.test_concurrency import race

    for _ in range(5):
        with transaction(service.factory) as session:
            for placement in session.scalars(select(db.Placement)):
                session.delete(placement)
            session.get(db.Site, ("default", "vk2")).supervisor_hours = 5.0  # type: ignore[union-attr]
        place(service, "P1", "shop")
        tag = etag(service, "/sites/vk2", "enterprise_manager")

        def lower(tag: str = tag) -> Any:
            return call(
                service, "enterprise_manager", "PATCH", "/sites/vk2", {"supervisor_hours": 2.5}, **{"If-Match": tag}
            )

        def take() -> Any:
            body = {"participant_id": "P2", "slot_id": "shop", "start_date": DAY}
            return call(service, "coach", "POST", "/placements", body)

        lowered, placed = race(lower, take)
        assert sorted([placed.status_code, lowered.status_code]) in ([201, 409], [200, 409]), (
            placed.text,
            lowered.text,
        )
        with transaction(service.factory) as session:
            hours = session.get(db.Site, ("default", "vk2")).supervisor_hours  # type: ignore[union-attr]
            active = session.scalars(select(db.Placement).where(db.Placement.end_date.is_(None))).all()
        assert len(active) * 2.5 <= hours


def test_two_site_changes_with_the_same_etag(service):
    """The manager and the coordinator change vk1 with the same If-Match: one 200, one 412, one version step."""
    from tests.service.placements.test_concurrency import race

    for round_ in range(5):
        read = call(service, "coordinator", "GET", "/sites/vk1")
        tag, version = read.headers["etag"], read.json()["version"]

        def change(who: str, hours: float, tag: str = tag) -> Any:
            return lambda: call(service, who, "PATCH", "/sites/vk1", {"supervisor_hours": hours}, **{"If-Match": tag})

        responses = race(change("coordinator", 10 + round_), change("enterprise_manager", 50 + round_))
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        after = call(service, "coordinator", "GET", "/sites/vk1")
        assert after.json()["version"] == version + 1
        assert after.json()["supervisor_hours"] == winner.json()["supervisor_hours"]
        assert len(site_history(service, "vk1")) == round_ + 1  # the loser wrote no history


def test_a_plan_kept_from_moving_people_says_that_allow_moves_would_let_it(service, database_url):
    # P1 holds a seat but is not pinned on the record: only the plan's default (keep every active placement) fixes
    # the person, so the failure says which setting would let the plan go on.
    place(service, "P1", "shop")
    _set(service, db.Site, "vk2", supervisor_hours=1.0)
    plan_id = _queued_plan(service)
    run_plan(plan_id, database_url)
    plan = call(service, "coordinator", "GET", f"/plans/{plan_id}").json()
    assert plan["status"] == "failed"
    assert plan["error"].endswith("plan with allow_moves=true to let the plan move people or take them out)")
