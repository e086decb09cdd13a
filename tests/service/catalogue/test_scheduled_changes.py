"""Dated capacity changes: saved as versions from a date, read back with GET ?on=, used by a plan on a later date,
previewed before saving, and never silently replaced (409 for the same field and date, 412 for a stale ETag)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from service.db import models as db
from service.db.engine import transaction
from service.plans.job import run_plan

API = "/api/v1"
TODAY = date.today()
SOON = TODAY + timedelta(days=10)


def call(service: Any, who: str, method: str, path: str, json: Any = None, **headers: str) -> Any:
    return service.client.request(method, API + path, json=json, headers={**service.auth(who), **headers})


def etag(service: Any, path: str, who: str = "coordinator") -> str:
    response = call(service, who, "GET", path)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


def schedule(service: Any, who: str, path: str, body: dict[str, Any], preview: bool = False) -> Any:
    query = "?preview=true" if preview else ""
    return call(
        service, who, "POST", f"{path}/scheduled-changes{query}", body, **{"If-Match": etag(service, path, who)}
    )


def place(service: Any, participant: str, slot: str) -> int:
    body = {"participant_id": participant, "slot_id": slot, "start_date": TODAY.isoformat()}
    response = call(service, "coordinator", "POST", "/placements", body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def plan_on(service: Any, database_url: str, day: date) -> dict[str, Any]:
    with transaction(service.factory) as session:
        plan = db.Plan(association_id="default", status=db.PlanStatus.queued, plan_date=day, time_limit_s=5.0)
        session.add(plan)
        session.flush()
        plan_id = plan.id
    run_plan(plan_id, database_url)
    response = call(service, "coordinator", "GET", f"/plans/{plan_id}")
    assert response.json()["status"] == "done", response.text
    return dict(response.json()["result"])


def slot_row(service: Any, slot_id: str) -> db.Slot:
    with transaction(service.factory) as session:
        slot = session.scalar(select(db.Slot).where(db.Slot.id == slot_id))
        assert slot is not None
        session.expunge(slot)
        return slot


# --- create, list, delete, read on a date ------------------------------------------------------------------------


def test_a_manager_schedules_more_seats_and_the_slot_shows_them_from_that_date(service):
    response = schedule(service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 3})
    assert response.status_code == 201, response.text
    change = response.json()
    assert change["slot_id"] == "sew" and change["site_id"] is None and change["fields"] == {"seats": 3}
    assert change["effective_from"] == SOON.isoformat() and change["base_version"] == 1
    assert change["status"] == "scheduled" and change["created_by"] == service.user_ids["enterprise_manager"]
    listed = call(service, "enterprise_manager", "GET", "/slots/sew/scheduled-changes").json()
    assert [c["id"] for c in listed] == [change["id"]]
    # Today's row is untouched; on a date the capacity in force is computed.
    assert call(service, "coordinator", "GET", "/slots/sew").json()["seats"] == 1
    day_before = (SOON - timedelta(days=1)).isoformat()
    assert call(service, "coordinator", "GET", f"/slots/sew?on={day_before}").json()["seats"] == 1
    assert call(service, "coordinator", "GET", f"/slots/sew?on={SOON.isoformat()}").json()["seats"] == 3
    assert (
        call(service, "coach", "GET", f"/slots/sew?on={(SOON + timedelta(days=99)).isoformat()}").json()["seats"] == 3
    )
    assert slot_row(service, "sew").seats == 1


def test_later_changes_apply_in_date_order(service):
    later = SOON + timedelta(days=30)
    assert (
        schedule(service, "coordinator", "/slots/sew", {"effective_from": later.isoformat(), "seats": 2}).status_code
        == 201
    )
    body = {"effective_from": SOON.isoformat(), "seats": 5, "days": ["mon", "tue"]}
    assert schedule(service, "coordinator", "/slots/sew", body).status_code == 201
    on_soon = call(service, "coordinator", "GET", f"/slots/sew?on={SOON.isoformat()}").json()
    assert (on_soon["seats"], on_soon["days"]) == (5, ["mon", "tue"])
    on_later = call(service, "coordinator", "GET", f"/slots/sew?on={later.isoformat()}").json()
    assert (on_later["seats"], on_later["days"]) == (2, ["mon", "tue"])
    listed = call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json()
    assert [c["effective_from"] for c in listed] == [SOON.isoformat(), later.isoformat()]


def test_deleting_a_scheduled_change(service):
    change = schedule(service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 3})
    change_id = change.json()["id"]
    assert call(service, "coach", "DELETE", f"/slots/sew/scheduled-changes/{change_id}").status_code == 403
    assert (
        call(service, "enterprise_manager", "DELETE", f"/slots/shop/scheduled-changes/{change_id}").status_code == 404
    )
    assert call(service, "enterprise_manager", "DELETE", f"/slots/sew/scheduled-changes/{change_id}").status_code == 204
    assert call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json() == []
    assert call(service, "coordinator", "GET", f"/slots/sew?on={SOON.isoformat()}").json()["seats"] == 1
    assert call(service, "coordinator", "DELETE", f"/slots/sew/scheduled-changes/{change_id}").status_code == 404


def test_site_supervisor_hours_from_a_date(service):
    response = schedule(
        service, "enterprise_manager", "/sites/vk2", {"effective_from": SOON.isoformat(), "supervisor_hours": 10}
    )
    assert response.status_code == 201, response.text
    assert response.json()["site_id"] == "vk2" and response.json()["fields"] == {"supervisor_hours": 10}
    assert call(service, "coordinator", "GET", "/sites/vk2").json()["supervisor_hours"] == 2.5
    assert call(service, "coordinator", "GET", f"/sites/vk2?on={SOON.isoformat()}").json()["supervisor_hours"] == 10
    assert len(call(service, "coordinator", "GET", "/sites/vk2/scheduled-changes").json()) == 1


# --- bad input -------------------------------------------------------------------------------------------------


def test_bad_dated_changes_are_refused_and_save_nothing(service):
    for body in (
        {"effective_from": TODAY.isoformat(), "seats": 3},  # today is PATCH's job
        {"effective_from": (TODAY - timedelta(days=3)).isoformat(), "seats": 3},
        {"effective_from": SOON.isoformat()},  # no field
        {"effective_from": SOON.isoformat(), "seats": None},
        {"effective_from": SOON.isoformat(), "seats": -1},
        {"effective_from": SOON.isoformat(), "activity": "x"},  # not a dated field
        {"effective_from": SOON.isoformat(), "min_hours": 35},  # above max_hours (30) on that date
    ):
        response = schedule(service, "coordinator", "/slots/sew", body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json() == []
    no_etag = call(
        service, "coordinator", "POST", "/slots/sew/scheduled-changes", {"effective_from": SOON.isoformat(), "seats": 3}
    )
    assert no_etag.status_code == 428


# --- conflicts ---------------------------------------------------------------------------------------------------


def test_two_managers_setting_the_same_field_on_the_same_date_get_409_naming_the_first(service):
    first = schedule(service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 3})
    assert first.status_code == 201
    second = schedule(
        service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 4, "max_hours": 20}
    )
    assert second.status_code == 409, second.text
    body = second.json()
    assert body["existing_change_id"] == first.json()["id"] and body["fields"] == ["seats"]
    assert f"scheduled change {first.json()['id']}" in body["detail"]
    listed = call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json()
    assert [c["fields"] for c in listed] == [{"seats": 3}]  # kept, not replaced
    # Another field on that date, or the same field on another date, is no conflict.
    assert (
        schedule(
            service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "max_hours": 20}
        ).status_code
        == 201
    )
    other_day = (SOON + timedelta(days=1)).isoformat()
    assert schedule(service, "coordinator", "/slots/sew", {"effective_from": other_day, "seats": 4}).status_code == 201


def test_a_change_based_on_a_stale_version_is_412(service):
    stale = etag(service, "/slots/sew")
    tag = etag(service, "/slots/sew")
    assert (
        call(service, "coordinator", "PATCH", "/slots/sew", {"max_hours": 25}, **{"If-Match": tag}).status_code == 200
    )
    response = call(
        service,
        "enterprise_manager",
        "POST",
        "/slots/sew/scheduled-changes",
        {"effective_from": SOON.isoformat(), "seats": 3},
        **{"If-Match": stale},
    )
    assert response.status_code == 412, response.text
    assert call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json() == []


# --- authorisation -----------------------------------------------------------------------------------------------


def test_only_the_enterprises_managers_and_coordinators_schedule(service):
    body = {"effective_from": SOON.isoformat(), "seats": 5}
    # furn belongs to vioni; the manager is vk's: out of view, 404.
    tag = '"furn.v1"'
    assert (
        call(
            service, "enterprise_manager", "POST", "/slots/furn/scheduled-changes", body, **{"If-Match": tag}
        ).status_code
        == 404
    )
    assert call(service, "enterprise_manager", "GET", "/slots/furn/scheduled-changes").status_code == 404
    assert call(service, "enterprise_manager", "GET", "/sites/hantverk/scheduled-changes").status_code == 404
    assert call(service, "foreign_coordinator", "GET", "/slots/sew/scheduled-changes").status_code == 404
    assert (
        call(service, "coach", "POST", "/slots/sew/scheduled-changes", body, **{"If-Match": '"sew.v1"'}).status_code
        == 403
    )
    assert call(service, "coach", "GET", "/slots/sew/scheduled-changes").status_code == 403
    assert call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json() == []


# --- plans on a date ---------------------------------------------------------------------------------------------


def test_a_plan_on_a_date_after_the_change_uses_it(service, database_url):
    # Only sew and furn keep their seats: then sew's seats bound how many are placed.
    for slot in ("shop", "garden", "furn"):
        tag = etag(service, f"/slots/{slot}")
        assert (
            call(service, "coordinator", "PATCH", f"/slots/{slot}", {"seats": 0}, **{"If-Match": tag}).status_code
            == 200
        )
    before = plan_on(service, database_url, SOON - timedelta(days=1))
    assert (
        schedule(
            service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 3}
        ).status_code
        == 201
    )
    still_before = plan_on(service, database_url, SOON - timedelta(days=1))
    after = plan_on(service, database_url, SOON)
    assert before["summary"]["placed"] == still_before["summary"]["placed"] == 1
    assert after["summary"]["placed"] == 3
    assert sum(1 for p in after["proposals"] if p["slot_id"] == "sew") == 3
    assert slot_row(service, "sew").seats == 1  # the plan changed no row


# --- preview -----------------------------------------------------------------------------------------------------


def _only_sew(service: Any) -> None:
    for slot in ("shop", "garden", "furn"):
        tag = etag(service, f"/slots/{slot}")
        assert (
            call(service, "coordinator", "PATCH", f"/slots/{slot}", {"seats": 0}, **{"If-Match": tag}).status_code
            == 200
        )


def test_the_preview_of_more_seats_says_who_would_gain_and_saves_nothing(service):
    _only_sew(service)
    body = {"effective_from": SOON.isoformat(), "seats": 3}
    response = schedule(service, "coordinator", "/slots/sew", body, preview=True)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert (preview["placed_before"], preview["placed_after"]) == (1, 3)
    assert preview["would_gain_a_place"] == 2 and len(preview["gain_participant_ids"]) == 2
    assert preview["certainly_lose_a_place"] == 0 and preview["would_have_to_move_or_end"] == []
    assert (preview["in_force_before"], preview["in_force_after"]) == ({"seats": 1}, {"seats": 3})
    assert call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json() == []
    # A manager gets the same figures, never participant ids.
    manager = schedule(service, "enterprise_manager", "/slots/sew", body, preview=True).json()
    assert (manager["placed_before"], manager["placed_after"], manager["would_gain_a_place"]) == (1, 3, 2)
    assert manager["gain_participant_ids"] is None and manager["certainly_lose_participant_ids"] is None
    assert manager["placed_only_without_change_ids"] is None
    assert "P1" not in repr(manager) and "P2" not in repr(manager)


def test_the_preview_of_a_lowering_names_the_placements_that_would_have_to_move(service):
    tag = etag(service, "/slots/sew")
    assert call(service, "coordinator", "PATCH", "/slots/sew", {"seats": 2}, **{"If-Match": tag}).status_code == 200
    p1, p3 = place(service, "P1", "sew"), place(service, "P3", "sew")
    _only_sew(service)
    preview = schedule(
        service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 1}, preview=True
    ).json()
    assert preview["active_placements"] == [p1, p3] and preview["over_by"] == 1
    assert len(preview["would_have_to_move_or_end"]) == 1 and preview["would_have_to_move_or_end"][0] in (p1, p3)
    assert (preview["placed_before"], preview["placed_after"]) == (2, 1)
    assert preview["certainly_lose_a_place"] == 1 and preview["certainly_lose_participant_ids"] is None
    assert preview["placed_only_without_change"] == 0
    assert "P1" not in repr(preview) and "P3" not in repr(preview)
    # Saving the lowering is allowed (PATCH would refuse it): it is the way to lower seats from a date.
    saved = schedule(service, "enterprise_manager", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 1})
    assert saved.status_code == 201, saved.text


def test_a_coordinators_preview_naming_participants_is_audited(service):
    _only_sew(service)
    preview = schedule(
        service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 3}, preview=True
    )
    named = set(preview.json()["gain_participant_ids"])
    with transaction(service.factory) as session:
        entries = session.scalars(select(db.AuditEntry).where(db.AuditEntry.path.like("%/scheduled-changes"))).all()
        assert len(entries) == 1 and entries[0].action == "read"
        linked = session.execute(
            select(db.AuditParticipant.participant_id).where(db.AuditParticipant.audit_id == entries[0].id)
        ).scalars()
        assert set(linked) == named


# --- relative changes ("+2 seats from March") --------------------------------------------------------------------


def test_a_relative_change_adds_to_whatever_is_in_force_on_its_date(service):
    later = SOON + timedelta(days=30)
    response = schedule(
        service, "enterprise_manager", "/slots/sew", {"effective_from": later.isoformat(), "seats_delta": 2}
    )
    assert response.status_code == 201, response.text
    assert response.json()["fields"] == {"seats_delta": 2}
    assert call(service, "coordinator", "GET", f"/slots/sew?on={later.isoformat()}").json()["seats"] == 3  # 1 + 2
    # An absolute change scheduled afterwards for an earlier date: the relative one adds to it, not to today's.
    assert (
        schedule(service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats": 4}).status_code
        == 201
    )
    assert call(service, "coordinator", "GET", f"/slots/sew?on={SOON.isoformat()}").json()["seats"] == 4
    assert call(service, "coordinator", "GET", f"/slots/sew?on={later.isoformat()}").json()["seats"] == 6
    # Today's capacity changes too: still +2 on the later date.
    tag = etag(service, "/slots/sew")
    assert call(service, "coordinator", "PATCH", "/slots/sew", {"seats": 2}, **{"If-Match": tag}).status_code == 200
    assert call(service, "coordinator", "GET", f"/slots/sew?on={later.isoformat()}").json()["seats"] == 6
    assert slot_row(service, "sew").seats == 2


def test_relative_site_hours_and_the_refusals(service):
    response = schedule(
        service, "enterprise_manager", "/sites/vk2", {"effective_from": SOON.isoformat(), "supervisor_hours_delta": 2.5}
    )
    assert response.status_code == 201, response.text
    assert call(service, "coordinator", "GET", f"/sites/vk2?on={SOON.isoformat()}").json()["supervisor_hours"] == 5.0
    # Both forms of one field, a delta below zero, a delta on a site with no limit: 422 naming the field.
    later = (SOON + timedelta(days=5)).isoformat()
    both = schedule(service, "coordinator", "/slots/sew", {"effective_from": later, "seats": 2, "seats_delta": 1})
    assert both.status_code == 422 and "seats_delta" in both.text
    below = schedule(service, "coordinator", "/slots/sew", {"effective_from": later, "seats_delta": -2})
    assert below.status_code == 422 and "would leave -1 seats" in below.json()["detail"], below.text
    # vk1 has no supervision limit: nothing to add to.
    refused = schedule(service, "coordinator", "/sites/vk1", {"effective_from": later, "supervisor_hours_delta": 1})
    assert refused.status_code == 422 and "has no limit" in refused.json()["detail"], refused.text
    # An absolute and a relative change of one field on one date conflict (409), as two absolute ones do.
    clash = schedule(service, "coordinator", "/sites/vk2", {"effective_from": SOON.isoformat(), "supervisor_hours": 9})
    assert clash.status_code == 409, clash.text
    assert len(call(service, "coordinator", "GET", "/slots/sew/scheduled-changes").json()) == 0


def test_the_preview_of_a_relative_change_resolves_it(service):
    _only_sew(service)
    preview = schedule(
        service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats_delta": 2}, preview=True
    ).json()
    assert (preview["in_force_before"], preview["in_force_after"]) == ({"seats": 1}, {"seats": 3})
    assert (preview["placed_before"], preview["placed_after"], preview["would_gain_a_place"]) == (1, 3, 2)


def test_the_utilisation_report_counts_the_seats_in_force_on_its_date(service):
    assert (
        schedule(
            service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats_delta": 2}
        ).status_code
        == 201
    )

    def seats(on: date) -> int:
        rows = call(service, "coordinator", "GET", f"/reports/utilisation?by=slot&on={on.isoformat()}").json()["rows"]
        return int(next(r["seats"] for r in rows if r["key"] == "sew"))

    assert (seats(TODAY), seats(SOON - timedelta(days=1)), seats(SOON)) == (1, 1, 3)


def test_suggestions_and_whatif_use_the_capacity_in_force_on_their_date(service):
    place(service, "P1", "sew")  # sew's one seat is taken today
    assert (
        schedule(
            service, "coordinator", "/slots/sew", {"effective_from": SOON.isoformat(), "seats_delta": 1}
        ).status_code
        == 201
    )
    today = call(service, "coordinator", "GET", f"/participants/P3/whatif?slot_id=sew&date={TODAY.isoformat()}").json()
    assert "seats_free" in {c["rule"] for c in today["changes"]}, today
    soon = call(service, "coordinator", "GET", f"/participants/P3/whatif?slot_id=sew&date={SOON.isoformat()}").json()
    assert "seats_free" not in {c["rule"] for c in soon["changes"]}, soon

    def suggested(day: date) -> set[str]:
        body = call(service, "coordinator", "GET", f"/participants/P3/suggestions?k=10&date={day.isoformat()}").json()
        return {s["slot_id"] for s in body["suggestions"]}

    assert "sew" not in suggested(TODAY) and "sew" in suggested(SOON)


def test_a_site_change_publishes_and_takes_exactly_one_of_its_two_forms(service):
    """The schema says what the service checks: supervisor_hours (null = no limit) or supervisor_hours_delta (a
    number), exactly one (schemathesis found the delta-only form, which the service takes, marked invalid)."""
    schemas = service.client.get("/openapi.json").json()["components"]["schemas"]
    site_change = schemas["ScheduledSiteChangeCreate"]
    assert site_change["required"] == ["effective_from"]
    assert site_change["oneOf"] == [{"required": ["supervisor_hours"]}, {"required": ["supervisor_hours_delta"]}]
    assert site_change["properties"]["supervisor_hours_delta"]["type"] == "number"  # null is not offered
    later = (SOON + timedelta(days=3)).isoformat()
    for body in ({}, {"supervisor_hours": 4, "supervisor_hours_delta": 1}, {"supervisor_hours_delta": None}):
        refused = schedule(service, "coordinator", "/sites/vk2", {"effective_from": later, **body})
        assert refused.status_code == 422, (body, refused.text)
    unlimited = schedule(service, "coordinator", "/sites/vk2", {"effective_from": later, "supervisor_hours": None})
    assert unlimited.status_code == 201, unlimited.text
