"""GET /participants/{id}/suggestions: diverse by default (`per_site`), names with the codes, and an answer that
always says something — the nearest slots that do not fit, with every reason, and notes — when fewer than k fit."""

from __future__ import annotations

from tests.service.test_api_errors import PARTICIPANT, assert_invalid, coach, coord  # noqa: F401  (fixtures)

DAY = "2026-11-23"


def test_suggestions_come_with_names_and_at_most_two_per_site_by_default(coach):  # noqa: F811
    body = coach.get(f"/participants/P1/suggestions?date={DAY}&k=10").json()
    sites = [s["site_id"] for s in body["suggestions"]]
    assert all(sites.count(site) <= 2 for site in sites)
    first = body["suggestions"][0]
    assert first["slot_id"] == "sew"
    assert (first["enterprise_name"], first["site_name"], first["activity_name"]) == (
        "Värmekällan",
        "Värmekällan",
        "sewing",  # the data has activity codes only
    )
    one = coach.get(f"/participants/P1/suggestions?date={DAY}&k=10&per_site=1").json()["suggestions"]
    one_sites = [s["site_id"] for s in one]
    assert len(one_sites) == len(set(one_sites))
    assert_invalid(coach.get("/participants/P1/suggestions?per_site=0"), "per_site")
    assert_invalid(coach.get("/participants/P1/suggestions?per_site=x"), "per_site")


def test_a_person_without_preferences_for_whom_nothing_fits_gets_reasons(coord):  # noqa: F811
    # Sundays only, 40 h a week (no slot offers that many), no preferences: no slot fits; the answer names the
    # nearest and why.
    person = {**PARTICIPANT, "days_available": ["sun"], "hours_per_week": 40, "preferences": []}
    assert coord.post("/participants", person).status_code == 201
    response = coord.get(f"/participants/P9/suggestions?date={DAY}&k=3")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["suggestions"] == []
    assert len(body["excluded"]) == 3
    for slot in body["excluded"]:
        assert slot["nearest"] is True and slot["preference_rank"] is None
        rules = [r["rule"] for r in slot["reasons"]]
        assert "days_overlap" in rules and "hours_fit" in rules
        assert slot["enterprise_name"] and slot["site_name"] and slot["travel_minutes"] is not None
    minutes = [slot["travel_minutes"] for slot in body["excluded"]]
    assert minutes == sorted(minutes)
    assert "no preferences recorded" in body["notes"]
    assert "no slot within 60 min offers 40 h/week" in body["notes"]
