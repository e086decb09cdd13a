"""Every endpoint's success and error paths, and that every error is a problem detail (RFC 9457)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from service.auth.users import add_user
from service.db import models as db
from service.db.engine import transaction

API = "/api/v1"
DAY = "2026-11-23"
END_REASONS = ("work", "studies", "other_programme", "moved", "dropped_out", "health", "completed")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert isinstance(body["type"], str) and isinstance(body["title"], str) and isinstance(body["detail"], str)
    assert body["status"] == status
    assert body["detail"], body
    return body


def assert_invalid(response: Any, field: str) -> dict[str, Any]:
    """A 422 problem whose errors name `field` (e.g. 'name', 'query.limit')."""
    body = assert_problem(response, 422)
    fields = [e["field"] for e in body.get("errors", [])]
    assert any(f == field or f.endswith("." + field) for f in fields) or field in body["detail"], body
    return body


class Api:
    """Short calls as one user."""

    def __init__(self, service: Any, who: str) -> None:
        self.service, self.headers = service, service.auth(who)

    def __call__(self, method: str, path: str, json: Any = None, **headers: str) -> Any:
        return self.service.client.request(method, API + path, json=json, headers={**self.headers, **headers})

    def get(self, path: str, **kw: Any) -> Any:
        return self("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self("POST", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self("PATCH", path, json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self("DELETE", path, **kw)


@pytest.fixture
def coord(service):
    return Api(service, "coordinator")


@pytest.fixture
def coach(service):
    return Api(service, "coach")


@pytest.fixture
def manager(service):
    return Api(service, "enterprise_manager")


def place(api: Api, participant: str, slot: str, start: str = DAY) -> Any:
    return api.post("/placements", {"participant_id": participant, "slot_id": slot, "start_date": start})


def active_in(service: Any, slot_id: str) -> int:
    with transaction(service.factory) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(db.Placement)
                .where(db.Placement.slot_id == slot_id, db.Placement.end_date.is_(None))
            )
        )


ENTERPRISE = {"id": "bageri", "name": "Bageriet", "municipality": "Sigtuna"}
SITE = {
    "id": "bake1",
    "enterprise_id": "vioni",
    "name": "Bakery",
    "municipality": "Sigtuna",
    "lat": 59.61,
    "lon": 17.85,
}
SLOT = {
    "id": "bake",
    "site_id": "hantverk",
    "activity": "bakery",
    "seats": 2,
    "min_hours": 5,
    "max_hours": 20,
    "days": ["mon", "tue"],
}
PARTICIPANT = {
    "id": "P9",
    "programme": "SAMRE",
    "municipality": "Sigtuna",
    "lat": 59.6,
    "lon": 17.86,
    "age": 40,
    "gender": "x",
    "hours_per_week": 10,
    "days_available": ["mon", "tue"],
    "max_travel_minutes": 60,
}


# --- enterprises -------------------------------------------------------------------------------------------------


def test_enterprise_crud(coord):
    created = coord.post("/enterprises", ENTERPRISE)
    assert created.status_code == 201, created.text
    assert created.json() == ENTERPRISE
    assert coord.get("/enterprises/bageri").json() == ENTERPRISE
    assert_problem(coord.post("/enterprises", ENTERPRISE), 409)
    updated = coord.patch("/enterprises/bageri", {"municipality": "Upplands Väsby"})
    assert updated.status_code == 200
    assert updated.json() == {**ENTERPRISE, "municipality": "Upplands Väsby"}
    deleted = coord.delete("/enterprises/bageri")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_problem(coord.get("/enterprises/bageri"), 404)
    assert_problem(coord.delete("/enterprises/bageri"), 404)
    assert_problem(coord.patch("/enterprises/bageri", {"name": "x"}), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ENTERPRISE, "name": ""}, "name"),
        ({**ENTERPRISE, "id": ""}, "id"),
        ({**ENTERPRISE, "id": " padded "}, "id"),
        ({**ENTERPRISE, "id": "x" * 65}, "id"),
        ({"id": "bageri", "name": "Bageriet"}, "municipality"),
        ({**ENTERPRISE, "name": 5}, "name"),
        ({**ENTERPRISE, "association_id": "other"}, "association_id"),  # mass assignment refused
    ],
)
def test_enterprise_create_rejects_bad_and_unknown_fields(coord, service, body, field):
    assert_invalid(coord.post("/enterprises", body), field)
    with transaction(service.factory) as session:
        assert session.get(db.Enterprise, ("default", "bageri")) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"id": "renamed"}, "id"),
        ({"association_id": "other"}, "association_id"),
    ],
)
def test_enterprise_update_rejects_bad_and_unknown_fields(coord, service, body, field):
    assert_invalid(coord.patch("/enterprises/vk", body), field)
    with transaction(service.factory) as session:
        enterprise = session.get(db.Enterprise, ("default", "vk"))
        assert (enterprise.name, enterprise.association_id) == ("Värmekällan", "default")


def test_enterprise_with_dependents_cannot_be_deleted(coord, service):
    body = assert_problem(coord.delete("/enterprises/vk"), 409)
    assert "site" in body["detail"]
    # An enterprise without sites but with a manager account is still referenced.
    assert coord.post("/enterprises", ENTERPRISE).status_code == 201
    with transaction(service.factory) as session:
        add_user(session, "baker", db.Role.enterprise_manager, "default", "bageri")
    body = assert_problem(coord.delete("/enterprises/bageri"), 409)
    assert "manager" in body["detail"]
    assert coord.get("/enterprises/vk").status_code == 200


# --- sites -------------------------------------------------------------------------------------------------------


def test_site_crud(coord, manager):
    created = coord.post("/sites", SITE)
    assert created.status_code == 201, created.text
    assert created.json() == {**SITE, "accessibility": [], "supervisor_hours": None, "version": 1}
    assert coord.get("/sites/bake1").json()["name"] == "Bakery"
    assert_problem(coord.post("/sites", SITE), 409)
    assert_problem(coord.post("/sites", {**SITE, "id": "bake2", "enterprise_id": "nope"}), 404)
    etag = coord.get("/sites/bake1").headers["etag"]
    change = {"supervisor_hours": 12.5, "accessibility": ["wheelchair"]}
    updated = coord.patch("/sites/bake1", change, **{"If-Match": etag})
    assert updated.status_code == 200
    assert (updated.json()["supervisor_hours"], updated.json()["accessibility"]) == (12.5, ["wheelchair"])
    unlimited = coord.patch("/sites/bake1", {"supervisor_hours": None}, **{"If-Match": updated.headers["etag"]})
    assert unlimited.json()["supervisor_hours"] is None  # null = no limit
    assert coord.delete("/sites/bake1").status_code == 204
    assert_problem(coord.get("/sites/bake1"), 404)
    # A manager creates sites of their own enterprise.
    mine = manager.post("/sites", {**SITE, "id": "vk9", "enterprise_id": "vk"})
    assert mine.status_code == 201, mine.text
    assert manager.delete("/sites/vk9").status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SITE, "lat": 91}, "lat"),
        ({**SITE, "lon": -181}, "lon"),
        ({**SITE, "supervisor_hours": -1}, "supervisor_hours"),
        ({**SITE, "accessibility": "wheelchair"}, "accessibility"),
        ({**SITE, "slots": []}, "slots"),
    ],
)
def test_site_create_rejects_bad_and_unknown_fields(coord, body, field):
    assert_invalid(coord.post("/sites", body), field)
    assert_problem(coord.get("/sites/bake1"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"lat": "north"}, "lat"), ({"name": None}, "name"), ({"enterprise_id": "vioni"}, "enterprise_id")],
)
def test_site_update_rejects_bad_and_unknown_fields(coord, service, body, field):
    assert_invalid(coord.patch("/sites/vk1", body, **{"If-Match": coord.get("/sites/vk1").headers["etag"]}), field)
    with transaction(service.factory) as session:
        assert session.get(db.Site, ("default", "vk1")).enterprise_id == "vk"


def test_site_with_slots_cannot_be_deleted(coord):
    body = assert_problem(coord.delete("/sites/vk1"), 409)
    assert "slot" in body["detail"]
    assert_problem(coord.get("/sites/nope"), 404)
    assert_problem(coord.patch("/sites/nope", {"name": "x"}), 404)
    assert_problem(coord.delete("/sites/nope"), 404)


# --- slots -------------------------------------------------------------------------------------------------------


def test_slot_crud(coord):
    created = coord.post("/slots", SLOT)
    assert created.status_code == 201, created.text
    assert created.json()["taken"] == 0 and created.json()["seats"] == 2
    assert created.headers["etag"]
    got = coord.get("/slots/bake")
    assert got.status_code == 200 and got.headers["etag"] == created.headers["etag"]
    assert_problem(coord.post("/slots", SLOT), 409)
    assert_problem(coord.post("/slots", {**SLOT, "id": "bake2", "site_id": "nope"}), 404)
    assert coord.delete("/slots/bake").status_code == 204
    assert_problem(coord.get("/slots/bake"), 404)
    assert_problem(coord.delete("/slots/bake"), 404)
    assert_problem(coord.get("/slots/bake/history"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SLOT, "seats": -1}, "seats"),
        ({**SLOT, "days": ["funday"]}, "days"),
        ({**SLOT, "days": []}, "days"),
        ({**SLOT, "max_hours": 41}, "max_hours"),
        ({**SLOT, "min_hours": 30, "max_hours": 10}, "max_hours"),
        ({**SLOT, "min_age": 60, "max_age": 20}, "max_age"),
        ({**SLOT, "available_from": "2026-12-01", "available_to": "2026-01-01"}, "available_to"),
        ({**SLOT, "available_from": "soon"}, "available_from"),
        ({**SLOT, "version": 7}, "version"),
        ({**SLOT, "taken": 0}, "taken"),
    ],
)
def test_slot_create_rejects_bad_and_unknown_fields(coord, body, field):
    assert_invalid(coord.post("/slots", body), field)
    assert_problem(coord.get("/slots/bake"), 404)


def test_slot_with_placements_cannot_be_deleted(coord, service):
    placed = place(coord, "P1", "furn")
    assert placed.status_code == 201
    body = assert_problem(coord.delete("/slots/furn"), 409)
    assert "placement" in body["detail"]
    # Ended placements are kept for follow-up, so they still hold the slot.
    assert coord.patch(f"/placements/{placed.json()['id']}", {"end_reason": "work", "end_date": DAY}).status_code == 200
    assert_problem(coord.delete("/slots/furn"), 409)
    assert coord.get("/slots/furn").status_code == 200


# --- slot changes: ETag, If-Match, capacity history --------------------------------------------------------------


def test_slot_patch_needs_if_match(coord, service):
    body = assert_problem(coord.patch("/slots/sew", {"seats": 3}), 428)
    assert "If-Match" in body["detail"]
    assert coord.get("/slots/sew").json()["seats"] == 1


def test_slot_patch_with_stale_etag_is_refused(coord):
    first = coord.get("/slots/sew").headers["etag"]
    changed = coord.patch("/slots/sew", {"seats": 3}, **{"If-Match": first})
    assert changed.status_code == 200, changed.text
    assert changed.json()["seats"] == 3
    new = changed.headers["etag"]
    assert new != first
    assert coord.get("/slots/sew").headers["etag"] == new
    stale = coord.patch("/slots/sew", {"seats": 5}, **{"If-Match": first})
    body = assert_problem(stale, 412)
    assert body.get("current_etag") == new
    assert coord.get("/slots/sew").json()["seats"] == 3
    assert_problem(coord.patch("/slots/sew", {"seats": 5}, **{"If-Match": '"sew.v999"'}), 412)
    assert_problem(coord.patch("/slots/sew", {"seats": 5}, **{"If-Match": "garbage"}), 412)
    again = coord.patch("/slots/sew", {"seats": 4}, **{"If-Match": new})
    assert again.status_code == 200 and again.json()["seats"] == 4


def test_every_slot_change_bumps_the_etag(coord, manager):
    etag = coord.get("/slots/shop").headers["etag"]
    for body in ({"activity": "shop"}, {"days": ["mon"]}, {"supervision_ratio": 0.5}, {"available_to": "2027-06-30"}):
        response = manager.patch("/slots/shop", body, **{"If-Match": etag})
        assert response.status_code == 200, (body, response.text)
        assert response.headers["etag"] != etag
        etag = response.headers["etag"]
    assert manager.get("/slots/shop").headers["etag"] == etag


def test_lowering_seats_below_taken_names_the_placements(coord, service):
    ids = [place(coord, pid, "furn").json()["id"] for pid in ("P1", "P3")]
    etag = coord.get("/slots/furn").headers["etag"]
    body = assert_problem(coord.patch("/slots/furn", {"seats": 1}, **{"If-Match": etag}), 409)
    assert sorted(body["placements"]) == sorted(ids)
    for placement_id in ids:
        assert str(placement_id) in body["detail"]
    slot = coord.get("/slots/furn")
    assert (slot.json()["seats"], slot.headers["etag"]) == (2, etag)  # nothing changed
    same = coord.patch("/slots/furn", {"seats": 2}, **{"If-Match": etag})
    assert same.status_code == 200
    assert_problem(coord.patch("/slots/furn", {"seats": 0}, **{"If-Match": same.headers["etag"]}), 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seats": -1}, "seats"),
        ({"seats": None}, "seats"),
        ({"days": ["mon", "someday"]}, "days"),
        ({"min_hours": 35}, "max_hours"),  # above the stored max_hours (30)
        ({"site_id": "vk2"}, "site_id"),  # a slot does not move between sites
        ({"version": 9}, "version"),
        ({"taken": 0}, "taken"),
    ],
)
def test_slot_patch_rejects_bad_and_unknown_fields(coord, body, field):
    etag = coord.get("/slots/sew").headers["etag"]
    assert_invalid(coord.patch("/slots/sew", body, **{"If-Match": etag}), field)
    assert coord.get("/slots/sew").headers["etag"] == etag


def test_capacity_history_is_kept(coord, manager, service):
    created = manager.post("/slots", {**SLOT, "site_id": "vk1"})
    assert created.status_code == 201
    history = manager.get("/slots/bake/history").json()
    assert {row["field"] for row in history} >= {"seats"}
    assert all(row["old_value"] is None and row["user_id"] == service.user_ids["enterprise_manager"] for row in history)

    etag = manager.get("/slots/sew").headers["etag"]
    assert manager.get("/slots/sew/history").json() == []
    changed = manager.patch("/slots/sew", {"seats": 4, "max_hours": 25, "activity": "sewing"}, **{"If-Match": etag})
    assert changed.status_code == 200
    rows = coord.get("/slots/sew/history").json()
    by_field = {row["field"]: row for row in rows}
    assert "activity" not in by_field  # unchanged values leave no row
    assert (by_field["seats"]["old_value"], by_field["seats"]["new_value"]) == (1, 4)
    assert (by_field["max_hours"]["old_value"], by_field["max_hours"]["new_value"]) == (30, 25)
    assert by_field["seats"]["user_id"] == service.user_ids["enterprise_manager"]
    assert by_field["seats"]["slot_id"] == "sew" and by_field["seats"]["changed_at"]
    # A refused change writes nothing.
    assert_problem(coord.patch("/slots/sew", {"seats": 9}, **{"If-Match": etag}), 412)
    assert len(coord.get("/slots/sew/history").json()) == len(rows)
    later = coord.patch("/slots/sew", {"available_from": "2026-12-01"}, **{"If-Match": changed.headers["etag"]})
    assert later.status_code == 200
    last = coord.get("/slots/sew/history").json()[-1]
    assert (last["field"], last["old_value"], last["new_value"]) == ("available_from", None, "2026-12-01")
    assert last["user_id"] == service.user_ids["coordinator"]


# --- participants ------------------------------------------------------------------------------------------------


def test_participant_crud(coord, coach, service):
    created = coach.post("/participants", PARTICIPANT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["coach_id"] == service.user_ids["coach"]  # a coach's new participant is theirs
    assert body["current_slot_id"] is None and body["pinned"] is False
    assert coach.get("/participants/P9").json() == body
    assert_problem(coach.post("/participants", PARTICIPANT), 409)
    assert_problem(coord.post("/participants", PARTICIPANT), 409)
    updated = coach.patch("/participants/P9", {"hours_per_week": 20, "needs": ["quiet_room"], "age": None})
    assert updated.status_code == 200
    assert (updated.json()["hours_per_week"], updated.json()["needs"], updated.json()["age"]) == (
        20,
        ["quiet_room"],
        None,
    )
    assert coord.delete("/participants/P9").status_code == 204
    assert_problem(coord.get("/participants/P9"), 404)
    assert_problem(coord.patch("/participants/P9", {"age": 3}), 404)
    assert_problem(coord.delete("/participants/P9"), 404)
    assert_problem(coord.get("/participants/P9/suggestions"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PARTICIPANT, "hours_per_week": 0}, "hours_per_week"),
        ({**PARTICIPANT, "hours_per_week": 41}, "hours_per_week"),
        ({**PARTICIPANT, "gender": "q"}, "gender"),
        ({**PARTICIPANT, "travel_mode": "rocket"}, "travel_mode"),
        ({**PARTICIPANT, "days_available": []}, "days_available"),
        ({**PARTICIPANT, "max_travel_minutes": 0}, "max_travel_minutes"),
        ({**PARTICIPANT, "waiting_since": "yesterday"}, "waiting_since"),
        ({k: v for k, v in PARTICIPANT.items() if k != "programme"}, "programme"),
        ({**PARTICIPANT, "association_id": "other"}, "association_id"),
        ({**PARTICIPANT, "current_slot_id": "furn"}, "current_slot_id"),
        ({**PARTICIPANT, "name": "Anna Andersson"}, "name"),
        ({**PARTICIPANT, "personnummer": "19800101-1234"}, "personnummer"),
        ({**PARTICIPANT, "coach_id": 999_999}, "coach_id"),
        ({**PARTICIPANT, "pinned": True}, "pinned"),
    ],
)
def test_participant_create_rejects_bad_and_unknown_fields(coord, body, field):
    assert_invalid(coord.post("/participants", body), field)
    assert_problem(coord.get("/participants/P9"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hours_per_week": None}, "hours_per_week"),
        ({"programme": None}, "programme"),
        ({"lat": 100}, "lat"),
        ({"id": "P99"}, "id"),
        ({"association_id": "other"}, "association_id"),
        ({"current_slot_id": "furn"}, "current_slot_id"),
        ({"pinned": True}, "pinned"),  # holds no seat
    ],
)
def test_participant_update_rejects_bad_and_unknown_fields(coord, service, body, field):
    assert_invalid(coord.patch("/participants/P1", body), field)
    with transaction(service.factory) as session:
        person = session.get(db.Participant, ("default", "P1"))
        assert (person.hours_per_week, person.programme, person.association_id, person.pinned) == (
            10,
            "SAMRE",
            "default",
            False,
        )


def test_coach_assignment(coord, coach, service):
    # The coordinator (not a coach) cannot be anyone's coach; a coach cannot hand a participant to another coach.
    assert_invalid(coord.patch("/participants/P5", {"coach_id": service.user_ids["coordinator"]}), "coach_id")
    assert_invalid(coord.patch("/participants/P5", {"coach_id": service.user_ids["foreign_coordinator"]}), "coach_id")
    assert_problem(coach.patch("/participants/P1", {"coach_id": service.user_ids["other_coach"]}), 403)
    assert coord.patch("/participants/P5", {"coach_id": service.user_ids["coach"]}).status_code == 200
    assert coach.get("/participants/P5").status_code == 200
    assert coach.patch("/participants/P5", {"coach_id": None}).status_code == 200
    assert_problem(coach.get("/participants/P5"), 404)


def test_participant_with_placements_cannot_be_deleted(coord):
    placed = place(coord, "P1", "furn")
    assert placed.status_code == 201
    assert_problem(coord.delete("/participants/P1"), 409)
    assert (
        coord.patch(f"/placements/{placed.json()['id']}", {"end_reason": "moved", "end_date": DAY}).status_code == 200
    )
    assert_problem(coord.delete("/participants/P1"), 409)  # kept for follow-up
    assert coord.get("/participants/P1").status_code == 200


def test_pinning_needs_a_seat(coord):
    assert_problem(coord.patch("/participants/P1", {"pinned": True}), 422)
    placed = place(coord, "P1", "furn")
    pinned = coord.patch("/participants/P1", {"pinned": True})
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert pinned.json()["current_slot_id"] == "furn"
    coord.patch(f"/placements/{placed.json()['id']}", {"end_reason": "work", "end_date": DAY})
    after = coord.get("/participants/P1").json()
    assert (after["pinned"], after["current_slot_id"]) == (False, None)


# --- pagination --------------------------------------------------------------------------------------------------

LISTS = ["/enterprises", "/sites", "/slots", "/participants", "/placements", "/plans", "/audit"]


def test_pagination_reports_total_limit_and_offset(coord):
    page = coord.get("/participants?limit=2&offset=1").json()
    assert [p["id"] for p in page["items"]] == ["P2", "P3"]
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 1)
    tail = coord.get("/participants?limit=4&offset=4").json()
    assert [p["id"] for p in tail["items"]] == ["P5", "P6"] and tail["total"] == 6
    beyond = coord.get("/participants?offset=100").json()
    assert beyond["items"] == [] and beyond["total"] == 6
    default = coord.get("/slots").json()
    assert (default["total"], default["limit"], default["offset"]) == (4, 50, 0)
    assert [s["id"] for s in coord.get("/slots?limit=1&offset=2").json()["items"]] == ["sew"]
    ids = []
    for offset in range(0, 6, 4):
        ids += [p["id"] for p in coord.get(f"/participants?limit=4&offset={offset}").json()["items"]]
    assert ids == ["P1", "P2", "P3", "P4", "P5", "P6"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=1000", "limit"), ("offset=-1", "offset"), ("limit=many", "limit")],
)
def test_pagination_bounds(coord, path, query, field):
    assert_invalid(coord.get(f"{path}?{query}"), field)


@pytest.mark.parametrize("path", LISTS)
def test_every_list_paginates(coord, path):
    coord.get("/participants/P1")  # at least one audit entry
    page = coord.get(f"{path}?limit=1").json()
    assert set(page) >= {"items", "total", "limit", "offset"}
    assert page["limit"] == 1 and len(page["items"]) <= 1


# --- placements --------------------------------------------------------------------------------------------------


def test_take_a_seat(coach, service):
    response = place(coach, "P1", "furn")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["participant_id"], body["slot_id"], body["start_date"], body["end_date"], body["end_reason"]) == (
        "P1", "furn", DAY, None, None,
    )  # fmt: skip
    assert coach.get(f"/placements/{body['id']}").json() == body
    assert coach.get("/participants/P1").json()["current_slot_id"] == "furn"
    assert coach.get("/slots/furn").json()["taken"] == 1
    assert_problem(coach.get("/placements/999999"), 404)
    assert_problem(coach.patch("/placements/999999", {"end_reason": "work"}), 404)


def test_a_full_slot_refuses(coord, service):
    assert place(coord, "P1", "sew").status_code == 201
    body = assert_problem(place(coord, "P2", "sew"), 409)
    assert body.get("reason") == "seats_free"
    assert "full" in body["detail"]
    assert active_in(service, "sew") == 1


def test_an_infeasible_pair_refuses_with_the_rules(coord, service):
    body = assert_problem(place(coord, "P2", "garden"), 409)  # garden is for SAMRE; P2 is in MIA
    assert [r["rule"] for r in body["rules"]] == ["programme_ok"]
    assert all(r["message"] for r in body["rules"])
    # Several broken rules are all named.
    assert coord.patch("/participants/P2", {"max_travel_minutes": 5, "days_available": ["sat"]}).status_code == 200
    body = assert_problem(place(coord, "P2", "garden"), 409)
    assert {r["rule"] for r in body["rules"]} == {"programme_ok", "travel_ok", "days_overlap"}
    assert active_in(service, "garden") == 0


def test_a_person_already_placed_is_refused(coord, service):
    first = place(coord, "P1", "furn").json()
    body = assert_problem(place(coord, "P1", "sew"), 409)
    assert body.get("placement_id") == first["id"]
    assert_problem(place(coord, "P1", "furn"), 409)
    assert active_in(service, "sew") == 0 and active_in(service, "furn") == 1


def test_supervision_full_refuses(coord, service):
    # vk2 has 2.5 supervisor hours: one 10-hour person at ratio 0.25, though shop has 3 seats.
    assert place(coord, "P1", "shop").status_code == 201
    body = assert_problem(place(coord, "P3", "shop"), 409)
    assert body.get("reason") == "supervision_free"
    assert "supervisor hours" in body["detail"]
    assert active_in(service, "shop") == 1
    # A shorter week fits once the hours are there.
    assert coord.patch("/participants/P3", {"hours_per_week": 5}).status_code == 200
    assert_problem(place(coord, "P3", "shop"), 409)
    etag = coord.get("/sites/vk2").headers["etag"]
    assert coord.patch("/sites/vk2", {"supervisor_hours": 3.75}, **{"If-Match": etag}).status_code == 200
    assert place(coord, "P3", "shop").status_code == 201


def test_unknown_and_invalid_placement_requests(coord):
    assert_problem(place(coord, "P404", "furn"), 404)
    assert_problem(place(coord, "P1", "nope"), 404)
    assert_invalid(coord.post("/placements", {"participant_id": "P1", "slot_id": "furn"}), "start_date")
    assert_invalid(
        coord.post("/placements", {"participant_id": "P1", "slot_id": "furn", "start_date": "2026-13-01"}), "start_date"
    )
    assert_invalid(
        coord.post("/placements", {"participant_id": "P1", "slot_id": "furn", "start_date": DAY, "created_by": 1}),
        "created_by",
    )
    assert_invalid(
        coord.post("/placements", {"participant_id": "P1", "slot_id": "furn", "start_date": DAY, "end_date": DAY}),
        "end_date",
    )
    assert_invalid(coord.get("/placements/abc"), "placement_id")


@pytest.mark.parametrize("reason", END_REASONS)
def test_end_a_placement_with_each_reason(coach, service, reason):
    placement = place(coach, "P1", "sew").json()
    ended = coach.patch(f"/placements/{placement['id']}", {"end_reason": reason, "end_date": "2026-12-31"})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["end_reason"], ended.json()["end_date"]) == (reason, "2026-12-31")
    assert coach.get(f"/placements/{placement['id']}").json()["end_reason"] == reason
    assert coach.get("/participants/P1").json()["current_slot_id"] is None
    assert coach.get("/slots/sew").json()["taken"] == 0
    # The seat is free again.
    assert place(coach, "P2", "sew").status_code == 201


def test_ending_twice_and_bad_ends(coach):
    placement = place(coach, "P1", "furn").json()
    path = f"/placements/{placement['id']}"
    assert_invalid(coach.patch(path, {"end_reason": "fired"}), "end_reason")
    assert_invalid(coach.patch(path, {"end_reason": "transferred"}), "end_reason")  # reserved for applied plans
    assert_invalid(coach.patch(path, {}), "end_reason")
    assert_invalid(coach.patch(path, {"end_reason": "work", "slot_id": "sew"}), "slot_id")
    body = assert_problem(coach.patch(path, {"end_reason": "work", "end_date": "2026-11-22"}), 422)
    assert "before" in body["detail"]
    assert coach.get(path).json()["end_date"] is None
    assert coach.patch(path, {"end_reason": "studies", "end_date": DAY}).status_code == 200  # same day as the start
    again = assert_problem(coach.patch(path, {"end_reason": "work", "end_date": "2026-12-01"}), 409)
    assert "ended already" in again["detail"]
    assert coach.get(path).json()["end_reason"] == "studies"


def test_ending_without_a_date_ends_today(coach):
    placement = place(coach, "P1", "furn", start="2026-01-05").json()
    ended = coach.patch(f"/placements/{placement['id']}", {"end_reason": "dropped_out"})
    assert ended.status_code == 200
    assert ended.json()["end_date"] == date.today().isoformat()


def test_ended_placements_stay_listed(coord):
    first = place(coord, "P1", "furn").json()
    coord.patch(f"/placements/{first['id']}", {"end_reason": "work", "end_date": DAY})
    second = place(coord, "P1", "sew").json()
    everything = coord.get("/placements?participant_id=P1").json()
    assert [p["id"] for p in everything["items"]] == [first["id"], second["id"]] and everything["total"] == 2
    assert [p["id"] for p in coord.get("/placements?active=false").json()["items"]] == [first["id"]]
    assert [p["id"] for p in coord.get("/placements?active=true").json()["items"]] == [second["id"]]
    assert [p["id"] for p in coord.get("/placements?slot_id=furn").json()["items"]] == [first["id"]]
    assert coord.get(f"/placements/{first['id']}").json()["end_reason"] == "work"


# --- suggestions -------------------------------------------------------------------------------------------------


def test_suggestions_are_ranked_and_respect_k(coach):
    response = coach.get(f"/participants/P1/suggestions?date={DAY}&k=10")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["participant_id"] == "P1" and body["date"] == DAY
    scores = [s["score"] for s in body["suggestions"]]
    assert len(scores) >= 3
    assert scores == sorted(scores, reverse=True)
    assert body["suggestions"][0]["slot_id"] == "sew"  # the first preference, closest to the top
    for suggestion in body["suggestions"]:
        assert sum(suggestion["score_parts"].values()) == suggestion["score"]
    assert len(coach.get(f"/participants/P1/suggestions?date={DAY}&k=1").json()["suggestions"]) == 1
    two = coach.get(f"/participants/P1/suggestions?date={DAY}&k=2").json()["suggestions"]
    assert [s["slot_id"] for s in two] == [s["slot_id"] for s in body["suggestions"][:2]]
    assert_invalid(coach.get("/participants/P1/suggestions?k=0"), "k")
    assert_invalid(coach.get("/participants/P1/suggestions?k=51"), "k")
    assert_invalid(coach.get("/participants/P1/suggestions?date=tomorrow"), "date")


def test_suggestions_leave_out_full_and_infeasible_slots(coord):
    assert place(coord, "P1", "sew").status_code == 201
    body = coord.get(f"/participants/P2/suggestions?date={DAY}&k=10").json()
    slots = [s["slot_id"] for s in body["suggestions"]]
    assert "sew" not in slots  # full
    assert "garden" not in slots  # SAMRE only


def test_suggestions_for_others_participants_are_404(coach):
    for pid in ("P4", "P5", "P404"):
        assert_problem(coach.get(f"/participants/{pid}/suggestions"), 404)


# --- audit: tests/service/audit/test_audit.py -------------------------------------------------------------------------


# --- errors outside the handlers are problem details too ---------------------------------------------------------


def test_framework_errors_are_problem_details(coord, service):
    assert_problem(coord.get("/no-such-endpoint"), 404)
    assert_problem(coord("PUT", "/slots/sew"), 405)
    broken = service.client.post(
        f"{API}/enterprises",
        content=b'{"id": "x",',
        headers={**service.auth("coordinator"), "Content-Type": "application/json"},
    )
    assert_problem(broken, 422)
    not_json = service.client.post(
        f"{API}/enterprises", content=b"id=x", headers={**service.auth("coordinator"), "Content-Type": "text/plain"}
    )
    assert not_json.status_code in (415, 422)
    assert_problem(not_json, not_json.status_code)
    assert_problem(coord.post("/enterprises", [ENTERPRISE]), 422)


# --- values the databases cannot hold are the request's fault (422), never a 5xx ---------------------------------

HUGE = str(2**70)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", f"/placements/{HUGE}", None, "placement_id"),
        ("GET", f"/placements/{2**40}", None, "placement_id"),  # beyond PostgreSQL's INTEGER
        ("PATCH", f"/placements/{HUGE}", {"end_reason": "work"}, "placement_id"),
        ("GET", f"/plans/{HUGE}", None, "plan_id"),
        ("POST", f"/plans/{2**40}/apply", {}, "plan_id"),
        ("GET", f"/audit?user_id={HUGE}", None, "user_id"),
        ("GET", f"/participants?offset={HUGE}", None, "offset"),
        ("GET", f"/placements?offset={2**63}", None, "offset"),
        ("PATCH", "/participants/P1", {"coach_id": 2**70}, "coach_id"),
        ("PATCH", "/participants/P1", {"coach_id": 2**40}, "coach_id"),
        ("POST", "/participants", {**PARTICIPANT, "coach_id": 2**40}, "coach_id"),
    ],
)
def test_numbers_beyond_the_database_range_are_422(coord, method, path, body, field):
    assert_invalid(coord(method, path, body), field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/enterprises", {**ENTERPRISE, "id": "a\x00b"}, "id"),
        ("/enterprises", {**ENTERPRISE, "name": "Bageri\x00"}, "name"),
        ("/sites", {**SITE, "accessibility": ["ramp\x00"]}, "accessibility"),
        ("/participants", {**PARTICIPANT, "needs": ["quiet\x00room"]}, "needs"),
        ("/participants", {**PARTICIPANT, "municipality": "\x00"}, "municipality"),
        ("/enterprises", {**ENTERPRISE, "name": "Bell\x07"}, "name"),  # workbooks (exports) cannot hold these
        ("/slots", {**SLOT, "activity": "\x1b[31mred"}, "activity"),
    ],
)
def test_text_with_control_characters_is_422_on_every_database(coord, path, body, field):
    assert_invalid(coord.post(path, body), field)


@pytest.mark.parametrize(
    "path",
    ["/enterprises/a%00b", "/sites/a%00b", "/slots/a%00b", "/participants/a%00b", "/participants/a%00b/suggestions",
     "/audit?participant_id=a%00b", "/sites?enterprise_id=a%00b", "/placements?participant_id=a%00b"],
)  # fmt: skip
def test_nul_characters_in_paths_and_queries_are_never_a_5xx(coord, path):
    response = coord.get(path)
    assert response.status_code in (200, 404, 422), response.text
    if response.status_code != 200:
        assert_problem(response, response.status_code)
