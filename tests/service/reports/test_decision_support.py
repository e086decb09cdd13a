"""Decision support over the API: GET /participants/{id}/whatif (coach of the person and coordinator, audited),
and the reports of capacity value and fairness (coordinator)."""

from __future__ import annotations

from tests.service.audit.test_audit import entries, touched
from tests.service.test_api_errors import assert_invalid, assert_problem, coach, coord, manager, place  # noqa: F401

API = "/api/v1"
DAY = "2026-11-23"


def test_whatif_names_the_programme_change(coach):  # noqa: F811
    # P2 is MIA; the garden is reserved for SAMRE.
    response = coach.get(f"/participants/P2/whatif?slot_id=garden&date={DAY}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["participant_id"], body["slot_id"], body["site_id"]) == ("P2", "garden", "vk1")
    assert body["fits_now"] is False
    [change] = body["changes"]
    assert change["rule"] == "programme_ok" and change["alone_suffices"] is True
    assert change["change"] == "the slot open to MIA (reserved for SAMRE)"
    assert change["edits"] == [{"table": "slots", "key": "garden", "column": "programmes", "value": ["MIA", "SAMRE"]}]
    assert "with this one change" in body["explanation"]


def test_whatif_counts_the_seats_the_placements_hold(coord, coach):  # noqa: F811
    assert place(coord, "P1", "sew").status_code == 201  # sew has one seat
    body = coach.get(f"/participants/P3/whatif?slot_id=sew&date={DAY}").json()
    rules = {c["rule"]: c for c in body["changes"]}
    assert "seats_free" in rules
    seat = rules["seats_free"]
    assert seat["amount"] == 1 and seat["unit"] == "seats"
    assert seat["change"] == "one more seat at Värmekällan's sewing (Värmekällan; 1 of 1 taken)"
    # The person's own seat is free for them: P1 fits the slot they hold.
    assert coach.get(f"/participants/P1/whatif?slot_id=sew&date={DAY}").json()["fits_now"] is True


def test_whatif_is_audited_as_a_read(service, coach):  # noqa: F811
    assert coach.get(f"/participants/P1/whatif?slot_id=garden&date={DAY}").status_code == 200
    got = [(e.user_name, e.action, e.method, e.path, touched(e)) for e in entries(service)]
    assert got == [("coach", "read", "GET", f"{API}/participants/P1/whatif", ["P1"])]


def test_whatif_refusals(service, coach, coord, manager):  # noqa: F811
    assert_problem(coach.get(f"/participants/P4/whatif?slot_id=sew&date={DAY}"), 404)  # another coach's person
    assert_problem(coach.get(f"/participants/P5/whatif?slot_id=sew&date={DAY}"), 404)  # nobody's
    assert_problem(manager.get(f"/participants/P1/whatif?slot_id=sew&date={DAY}"), 403)
    assert_problem(coord.get(f"/participants/NOBODY/whatif?slot_id=sew&date={DAY}"), 404)
    missing = assert_problem(coord.get(f"/participants/P1/whatif?slot_id=nowhere&date={DAY}"), 404)
    assert "nowhere" in missing["detail"]
    assert_invalid(coord.get("/participants/P1/whatif"), "slot_id")
    assert_invalid(coord.get("/participants/P1/whatif?slot_id=sew&date=tomorrow"), "date")
    # Nothing was read; the refused reads of participants are audited as denied (issue 14), the unknown slot not.
    denied = [("denied", 404), ("denied", 404), ("denied", 403), ("denied", 404)]
    assert [(e.action, e.status) for e in entries(service)] == denied


def test_capacity_value_report(coord):  # noqa: F811
    response = coord.get(f"/reports/capacity-value?on={DAY}&time_limit_s=30")
    assert response.status_code == 200, response.text
    body = response.json()
    # The tiny data set: four slots, and supervision limits at hantverk (20 h) and vk2 (2.5 h).
    kinds = sorted((r["kind"], r["slot_id"] or r["site_id"], r["added"]) for r in body["rows"])
    assert kinds == sorted(
        [("seat", s, 1.0) for s in ("furn", "sew", "shop", "garden")]
        + [("supervision", t, h) for t in ("hantverk", "vk2") for h in (1.0, 5.0)]
    )
    assert all(r["method"] == "re-solve" and r["estimate"] is False for r in body["rows"])
    assert [r["more_placed"] for r in body["rows"]] == sorted((r["more_placed"] for r in body["rows"]), reverse=True)
    assert isinstance(body["placed"], int) and body["estimate"] is False
    assert_invalid(coord.get("/reports/capacity-value?time_limit_s=0"), "time_limit_s")


def test_fairness_report(coord):  # noqa: F811
    response = coord.get(f"/reports/fairness?on={DAY}&floor=0.5&time_limit_s=30")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["people"] == 6 and body["floor"] == 0.5
    programmes = {g["group"]: g for g in body["groups"] if g["dimension"] == "programme"}
    assert set(programmes) == {"SAMRE", "MIA"} and sum(g["people"] for g in programmes.values()) == 6
    for group in body["groups"]:
        assert group["placed"] <= group["possible"] <= group["people"]
        assert group["shortfall"] == group["possible"] - group["placed"]
    assert_invalid(coord.get("/reports/fairness?floor=1.5"), "floor")
    assert_invalid(coord.get("/reports/fairness?on=someday"), "on")


def test_reports_are_for_coordinators(coach, manager):  # noqa: F811
    for path in ("/reports/capacity-value", "/reports/fairness"):
        assert_problem(coach.get(path), 403)
        assert_problem(manager.get(path), 403)
