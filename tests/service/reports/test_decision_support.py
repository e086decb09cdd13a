"""Decision support over the API: GET /participants/{id}/whatif (coach of the person and coordinator, audited),
and the reports of capacity value and fairness (coordinator)."""

from __future__ import annotations

import pytest

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


def test_capacity_value_as_csv_and_xlsx(coord):  # noqa: F811
    import csv
    import io

    from openpyxl import load_workbook

    body = coord.get(f"/reports/capacity-value?on={DAY}&time_limit_s=30").json()
    response = coord.get(f"/reports/capacity-value?on={DAY}&time_limit_s=30&format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="capacity-value-{DAY}.csv"'
    assert response.content.startswith(b"\xef\xbb\xbfkind;slot_id;site_id;added;more_placed;method;estimate;")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    # The same rows as the JSON, in its order; decimal commas in the default dialect, `|`-joined counts.
    assert [(r["kind"], r["slot_id"] or None, r["site_id"], r["more_placed"]) for r in table] == [
        (r["kind"], r["slot_id"], r["site_id"], str(r["more_placed"])) for r in body["rows"]
    ]
    for row, out in zip(table, body["rows"], strict=True):
        assert row["method"] == out["method"] and row["estimate"] == str(out["estimate"]).lower()
        assert row["programmes"] == "|".join(f"{k} {n}" for k, n in out["programmes"].items())
    comma = coord.get(f"/reports/capacity-value?on={DAY}&time_limit_s=30&format=csv&dialect=comma")
    assert comma.content.startswith(b"kind,slot_id,site_id,added,")
    book = coord.get(f"/reports/capacity-value?on={DAY}&time_limit_s=30&format=xlsx")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet.title == "Kapacitetsvärde"
    assert sheet["A1"].value == (
        f"Var gör en plats mest nytta · Datum: {DAY} · Placerade utan tillskott: {body['placed']} · Uppskattning: nej"
    )
    assert [c.value for c in sheet[2]][:6] == [
        "Tillskott",
        "Aktivitetskod",
        "Platskod",
        "Tillfört",
        "Fler placerade",
        "Metod",
    ]
    assert sheet.max_row == 2 + len(body["rows"]) and sheet.freeze_panes == "A3"
    assert_invalid(coord.get("/reports/capacity-value?format=pdf"), "format")


def test_fairness_as_csv_and_xlsx(coord):  # noqa: F811
    import csv
    import io

    from openpyxl import load_workbook

    body = coord.get(f"/reports/fairness?on={DAY}&floor=0.5&time_limit_s=30").json()
    response = coord.get(f"/reports/fairness?on={DAY}&floor=0.5&time_limit_s=30&format=csv&dialect=comma")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="fairness-{DAY}-floor-0.5.csv"'
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert list(table[0]) == [
        "dimension", "group", "people", "placed", "placed_pct", "possible", "possible_pct", "shortfall",
        "median_waiting_days", "exact", "floor_placed",
    ]  # fmt: skip
    for row, group in zip(table, body["groups"], strict=True):
        assert (row["dimension"], row["group"], int(row["placed"]), int(row["possible"])) == (
            group["dimension"], group["group"], group["placed"], group["possible"],
        )  # fmt: skip
        assert float(row["placed_pct"]) == round(group["placed_share"] * 100, 1)
        assert int(row["floor_placed"]) == group["floor_placed"]
    without_floor = coord.get(f"/reports/fairness?on={DAY}&time_limit_s=30&format=csv")
    assert b"floor_placed" not in without_floor.content
    sheet = load_workbook(
        io.BytesIO(coord.get(f"/reports/fairness?on={DAY}&floor=0.5&time_limit_s=30&format=xlsx").content)
    ).active
    assert sheet.title == "Rättvisa"
    title = str(sheet["A1"].value)
    assert title.startswith(f"Vem blir kvar · Datum: {DAY} · Placerade: {body['placed']} av 6") and "Golv: 50%" in title
    assert sheet.cell(row=3, column=5).number_format == "0.0%"
    assert sheet.cell(row=3, column=5).value == pytest.approx(body["groups"][0]["placed_share"], abs=1e-3)


def test_the_decision_reports_use_the_capacity_in_force_on_their_date(coord, service):  # noqa: F811
    from datetime import date, timedelta

    today, soon = date.today().isoformat(), (date.today() + timedelta(days=10)).isoformat()
    for other in ("shop", "garden", "furn"):  # only sew's one seat left: more want it
        tag = coord.get(f"/slots/{other}").headers["etag"]
        assert coord.patch(f"/slots/{other}", {"seats": 0}, **{"If-Match": tag}).status_code == 200
    before = coord.get(f"/reports/capacity-value?on={soon}&time_limit_s=30").json()
    worth = next((r for r in before["rows"] if r["more_placed"] >= 1), None)
    assert worth, before
    if worth["kind"] == "seat":
        path, body = f"/slots/{worth['slot_id']}", {"effective_from": soon, "seats_delta": 1}
    else:
        path, body = f"/sites/{worth['site_id']}", {"effective_from": soon, "supervisor_hours_delta": worth["added"]}
    tag = coord.get(path).headers["etag"]
    added = coord.post(f"{path}/scheduled-changes", body, **{"If-Match": tag})
    assert added.status_code == 201, added.text
    # The capacity the report said places more people is in force from `soon`: that day's plan places them,
    # today's does not.
    after = coord.get(f"/reports/capacity-value?on={soon}&time_limit_s=30").json()
    assert after["placed"] == before["placed"] + worth["more_placed"]
    assert coord.get(f"/reports/capacity-value?on={today}&time_limit_s=30").json()["placed"] == before["placed"]
    assert coord.get(f"/reports/fairness?on={soon}&time_limit_s=30").json()["placed"] == after["placed"]
    assert coord.get(f"/reports/fairness?on={today}&time_limit_s=30").json()["placed"] == before["placed"]
