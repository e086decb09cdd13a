"""Slot changes under active placements (issue 14, item 9): a change that makes an active placement break a rule of
a feasible pair is refused with a 409 naming the placements and rules, or made with `?force=true` and kept as
warnings on those placements, shown in the placements API, the coordinator's page and the utilisation report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from service.db import models as db
from service.db.engine import transaction

API = "/api/v1"
TODAY = date.today()
SOON = TODAY + timedelta(days=10)


def call(service: Any, who: str, method: str, path: str, json: Any = None, **headers: str) -> Any:
    return service.client.request(method, API + path, json=json, headers={**service.auth(who), **headers})


def etag(service: Any, path: str, who: str = "coordinator") -> str:
    response = call(service, who, "GET", path)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


def patch_slot(service: Any, who: str, body: dict[str, Any], slot: str = "furn", force: bool = False) -> Any:
    query = "?force=true" if force else ""
    return call(service, who, "PATCH", f"/slots/{slot}{query}", body, **{"If-Match": etag(service, f"/slots/{slot}")})


def place(service: Any, participant: str, slot: str) -> int:
    body = {"participant_id": participant, "slot_id": slot, "start_date": TODAY.isoformat()}
    response = call(service, "coordinator", "POST", "/placements", body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def warnings(service: Any, placement_id: int) -> list[dict[str, Any]]:
    response = call(service, "coordinator", "GET", f"/placements/{placement_id}")
    assert response.status_code == 200, response.text
    return list(response.json()["warnings"])


def warning_rows(service: Any) -> int:
    with transaction(service.factory) as session:
        return int(session.scalar(select(func.count()).select_from(db.PlacementWarning)) or 0)


def test_raising_min_hours_above_a_placements_hours_is_refused_naming_it_and_the_rule(service):
    first, second = place(service, "P1", "furn"), place(service, "P2", "furn")
    response = patch_slot(service, "coordinator", {"min_hours": 15})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["reason"] == "placements_break_rules"
    assert [p["placement_id"] for p in body["placements"]] == [first, second]
    assert {r["rule"] for p in body["placements"] for r in p["rules"]} == {"hours_fit"}
    assert f"placement {first} (hours_fit" in body["detail"] and "force=true" in body["detail"]
    assert call(service, "coordinator", "GET", "/slots/furn").json()["min_hours"] == 5  # nothing changed
    assert warning_rows(service) == 0


def test_days_without_a_common_weekday_are_refused_and_a_change_that_keeps_one_passes(service):
    placement = place(service, "P1", "furn")  # P1 comes mon, tue, thu; furn is mon, tue, wed
    response = patch_slot(service, "coordinator", {"days": ["wed", "fri"]})
    assert response.status_code == 409, response.text
    assert response.json()["placements"][0]["rules"][0]["rule"] == "days_overlap"
    assert patch_slot(service, "coordinator", {"days": ["tue", "wed"]}).status_code == 200
    assert warnings(service, placement) == []


def test_other_pair_fields_are_checked_too(service):
    place(service, "P2", "furn")  # P2: MIA, age 32, gender m
    for body, rule in (
        ({"programmes": ["SAMRE"]}, "programme_ok"),
        ({"min_age": 40}, "age_ok"),
        ({"women_only": True}, "gender_ok"),
        ({"available_to": (TODAY - timedelta(days=1)).isoformat(), "available_from": None}, "date_ok"),
    ):
        response = patch_slot(service, "coordinator", body)
        assert response.status_code == 409, (body, response.text)
        assert [r["rule"] for r in response.json()["placements"][0]["rules"]] == [rule]


def test_force_makes_the_change_and_keeps_the_broken_rule_as_a_warning_until_it_holds_again(service):
    placement = place(service, "P1", "furn")
    response = patch_slot(service, "coordinator", {"min_hours": 15}, force=True)
    assert response.status_code == 200, response.text
    assert response.json()["min_hours"] == 15
    [warning] = warnings(service, placement)
    assert warning["rule"] == "hours_fit" and warning["source"] == "slot_change" and warning["slot_id"] == "furn"
    assert "10 h/week" in warning["message"] and warning["effective_from"] is None
    listed = call(service, "coordinator", "GET", "/placements?active=true").json()["items"]
    assert [w["rule"] for w in listed[0]["warnings"]] == ["hours_fit"]
    # A second forced change does not repeat the warning; an unrelated change leaves it.
    assert patch_slot(service, "coordinator", {"min_hours": 16}, force=True).status_code == 200
    assert patch_slot(service, "coordinator", {"activity": "furniture"}).status_code == 200
    assert len(warnings(service, placement)) == 1
    # The report shows it to the coordinator.
    report = call(service, "coordinator", "GET", "/reports/utilisation?by=slot").json()
    assert report["placements_with_warnings"] == 1
    # Back within the rule: the warning goes.
    assert patch_slot(service, "coordinator", {"min_hours": 5}).status_code == 200
    assert warnings(service, placement) == []
    assert call(service, "coordinator", "GET", "/reports/utilisation").json()["placements_with_warnings"] == 0


def test_a_rule_broken_before_the_change_neither_blocks_it_nor_becomes_a_warning(service):
    placement = place(service, "P1", "furn")
    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P1")).hours_per_week = 30  # type: ignore[union-attr]  # outside 5–20 already
    assert patch_slot(service, "coordinator", {"max_hours": 25}).status_code == 200
    assert warnings(service, placement) == []


def test_a_manager_is_refused_with_rule_labels_only_and_no_participant_id(service):
    place(service, "P1", "shop")  # vk2 is the manager's enterprise
    response = call(
        service,
        "enterprise_manager",
        "PATCH",
        "/slots/shop",
        {"min_hours": 15},
        **{"If-Match": etag(service, "/slots/shop", "enterprise_manager")},
    )
    assert response.status_code == 409, response.text
    assert "P1" not in response.text and "10 h/week" not in response.text
    assert response.json()["placements"][0]["rules"] == [{"rule": "hours_fit"}]


def test_a_slot_without_active_placements_changes_freely(service):
    placement = place(service, "P1", "furn")
    assert call(service, "coordinator", "PATCH", f"/placements/{placement}", {"end_reason": "work"}).status_code == 200
    assert patch_slot(service, "coordinator", {"min_hours": 15}).status_code == 200


def test_seats_are_never_forced(service):
    place(service, "P1", "sew")
    response = patch_slot(service, "coordinator", {"seats": 0}, slot="sew", force=True)
    assert response.status_code == 409 and response.json()["reason"] == "seats_taken"


# --- scheduled changes --------------------------------------------------------------------------------------------


def schedule(service: Any, body: dict[str, Any], force: bool = False, slot: str = "furn") -> Any:
    query = "?force=true" if force else ""
    path = f"/slots/{slot}"
    return call(
        service, "coordinator", "POST", f"{path}/scheduled-changes{query}", body, **{"If-Match": etag(service, path)}
    )


def test_a_scheduled_change_that_would_break_a_placement_on_its_date_is_refused_or_forced(service):
    placement = place(service, "P1", "furn")
    body = {"effective_from": SOON.isoformat(), "max_hours": 8}
    refused = schedule(service, body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["reason"] == "placements_break_rules" and SOON.isoformat() in refused.json()["detail"]
    forced = schedule(service, body, force=True)
    assert forced.status_code == 201, forced.text
    [warning] = warnings(service, placement)
    assert warning["source"] == "scheduled" and warning["effective_from"] == SOON.isoformat()
    assert warning["scheduled_change_id"] == forced.json()["id"] and "h/week" in warning["message"]
    # Today's slot still fits, so an unrelated PATCH keeps the dated warning.
    assert patch_slot(service, "coordinator", {"max_hours": 21}).status_code == 200
    assert len(warnings(service, placement)) == 1
    # Deleting the change deletes its warnings.
    change_id = forced.json()["id"]
    assert call(service, "coordinator", "DELETE", f"/slots/furn/scheduled-changes/{change_id}").status_code == 204
    assert warnings(service, placement) == []


def test_a_scheduled_change_checks_against_the_capacity_in_force_on_its_date(service):
    place(service, "P1", "furn")
    later = SOON + timedelta(days=5)
    # From SOON the slot opens only on wednesdays (forced); a change from later that only moves max_hours breaks
    # nothing new on its date, so it is not refused for the days.
    assert schedule(service, {"effective_from": SOON.isoformat(), "days": ["wed"]}, force=True).status_code == 201
    response = schedule(service, {"effective_from": later.isoformat(), "max_hours": 25})
    assert response.status_code == 201, response.text


# --- imports ------------------------------------------------------------------------------------------------------


def import_slots(service: Any, apply: bool, force: bool, overwrite: str = "", **furn: str) -> dict[str, Any]:
    from tests.service.imports.test_imports import csv_text, row, tiny_tables

    tables = tiny_tables()
    row(tables, "slots", "furn").update(furn)
    params = {
        "apply": str(apply).lower(),
        "force": str(force).lower(),
        **({"overwrite": overwrite} if overwrite else {}),
    }
    files = [("files", ("slots.csv", csv_text(*tables["slots"]), "text/csv"))]
    response = service.client.post(f"{API}/imports", files=files, params=params, headers=service.auth("coordinator"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_import_that_breaks_a_placement_refuses_the_row_naming_it_or_applies_it_with_force(service):
    placement = place(service, "P1", "furn")
    report = import_slots(service, apply=True, force=False, min_hours="15")
    [refusal] = [r for r in report["refused"] if r["id"] == "furn"]
    assert refusal["file"] == "slots.csv" and refusal["row"] >= 2
    assert f"placement {placement} (hours_fit" in refusal["reason"] and "force=true" in refusal["reason"]
    assert call(service, "coordinator", "GET", "/slots/furn").json()["min_hours"] == 5
    assert warnings(service, placement) == []
    # A dry run with force says what it would do, and writes nothing.
    dry = import_slots(service, apply=False, force=True, min_hours="15")
    assert not [r for r in dry["refused"] if r["id"] == "furn"]
    assert any("furn" in w["message"] and "force" in w["message"] for w in dry["warnings"]), dry["warnings"]
    assert warnings(service, placement) == []
    report = import_slots(service, apply=True, force=True, min_hours="15")
    assert call(service, "coordinator", "GET", "/slots/furn").json()["min_hours"] == 15
    [warning] = warnings(service, placement)
    assert warning["source"] == "import" and warning["rule"] == "hours_fit"
    # The file back within the rule (undoing the import's own change, so with overwrite) drops the warning.
    report = import_slots(service, apply=True, force=False, overwrite="slots:min_hours", min_hours="5")
    assert not report["refused"], report["refused"]
    assert warnings(service, placement) == []


def test_the_coordinators_overview_lists_the_warned_placements_in_swedish(service):
    from tests.service.web.test_pages import _login

    placement = place(service, "P1", "furn")
    assert patch_slot(service, "coordinator", {"min_hours": 15}, force=True).status_code == 200
    _login(service, "coordinator")
    page = service.client.get("/oversikt")
    assert page.status_code == 200
    assert "Placeringar med varningar" in page.text
    assert "Önskar 10 timmar i veckan, platsen har 15–20 timmar" in page.text
    assert f"<td>{placement}</td>" in page.text and "ändring av platsen" in page.text


def patch_site(service: Any, body: dict[str, Any], site: str = "hantverk", force: bool = False) -> Any:
    query = "?force=true" if force else ""
    path = f"/sites/{site}"
    return call(service, "coordinator", "PATCH", f"{path}{query}", body, **{"If-Match": etag(service, path)})


def test_a_site_change_that_leaves_a_placements_needs_or_travel_unmet_is_refused_or_forced(service):
    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P1")).needs = ["wheelchair"]  # type: ignore[union-attr]
    placement = place(service, "P1", "furn")  # at hantverk, which has wheelchair access
    refused = patch_site(service, {"accessibility": []})
    assert refused.status_code == 409, refused.text
    assert refused.json()["placements"][0]["rules"][0]["rule"] == "needs_covered"
    far = patch_site(service, {"lat": 65.58, "lon": 22.15})  # Luleå: far beyond P1's 60 minutes
    assert far.status_code == 409 and far.json()["placements"][0]["rules"][0]["rule"] == "travel_ok"
    assert patch_site(service, {"name": "Hantverkshuset"}).status_code == 200  # not a rule of a pair
    assert patch_site(service, {"accessibility": []}, force=True).status_code == 200
    [warning] = warnings(service, placement)
    assert warning["rule"] == "needs_covered" and warning["slot_id"] == "furn"
    assert patch_site(service, {"accessibility": ["wheelchair"]}).status_code == 200
    assert warnings(service, placement) == []


def import_files(service: Any, apply: bool, force: bool, tables: dict[str, Any], names: tuple[str, ...]) -> Any:
    from tests.service.imports.test_imports import csv_text

    params = {"apply": str(apply).lower(), "force": str(force).lower()}
    files = [("files", (f"{name}.csv", csv_text(*tables[name]), "text/csv")) for name in names]
    response = service.client.post(f"{API}/imports", files=files, params=params, headers=service.auth("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def test_an_import_of_sites_that_leaves_a_placements_needs_unmet_is_refused_or_forced(service):
    from tests.service.imports.test_imports import row, tiny_tables

    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P1")).needs = ["wheelchair"]  # type: ignore[union-attr]
    placement = place(service, "P1", "furn")  # at hantverk, which has wheelchair access
    tables = tiny_tables()
    row(tables, "sites", "hantverk")["accessibility"] = ""
    for names in (("sites",), ("sites", "slots")):  # the site alone, and with its slots unchanged beside it
        report = import_files(service, apply=True, force=False, tables=tables, names=names)
        [refusal] = [r for r in report["refused"] if r["id"] == "hantverk"]
        assert refusal["kind"] == "site" and refusal["file"] == "sites.csv"
        assert f"placement {placement} (needs_covered" in refusal["reason"] and "force=true" in refusal["reason"]
        assert not [r for r in report["refused"] if r["kind"] == "slot"], report["refused"]
        assert call(service, "coordinator", "GET", "/sites/hantverk").json()["accessibility"] == ["wheelchair"]
    assert warnings(service, placement) == []
    import_files(service, apply=True, force=True, tables=tables, names=("sites",))
    assert call(service, "coordinator", "GET", "/sites/hantverk").json()["accessibility"] == []
    [warning] = warnings(service, placement)
    assert warning["source"] == "import" and warning["rule"] == "needs_covered" and warning["slot_id"] == "furn"
    # The access back (undoing the import's own change, so with overwrite) drops the warning.
    row(tables, "sites", "hantverk")["accessibility"] = "wheelchair"
    params = {"apply": "true", "overwrite": "sites:accessibility"}
    from tests.service.imports.test_imports import csv_text

    files = [("files", ("sites.csv", csv_text(*tables["sites"]), "text/csv"))]
    response = service.client.post(f"{API}/imports", files=files, params=params, headers=service.auth("coordinator"))
    assert response.status_code == 200 and not response.json()["refused"], response.text
    assert warnings(service, placement) == []


def test_a_slot_change_the_files_site_change_would_cover_is_refused_when_that_site_is(service):
    """The file moves the wheelchair support from the slot to its site: the slot's row alone would fit, with the
    site as the file leaves it, but the site's row is refused (its supervisor hours), so the slot's is refused too."""
    from tests.service.imports.test_imports import row, tiny_tables

    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P1")).needs = ["wheelchair"]  # type: ignore[union-attr]
        session.get(db.Site, ("default", "hantverk")).accessibility = []  # type: ignore[union-attr]
        session.get(db.Slot, ("default", "furn")).supports = ["wheelchair"]  # type: ignore[union-attr]
    placement = place(service, "P1", "furn")
    tables = tiny_tables()
    row(tables, "sites", "hantverk").update(accessibility="wheelchair", supervisor_hours="1")
    row(tables, "slots", "furn")["supports"] = ""
    report = import_files(service, apply=True, force=False, tables=tables, names=("sites", "slots"))
    refused = {r["id"]: r["reason"] for r in report["refused"]}
    assert "supervisor_hours cannot go below" in refused["hantverk"]
    assert f"placement {placement} (needs_covered" in refused["furn"]
    assert call(service, "coordinator", "GET", "/slots/furn").json()["supports"] == ["wheelchair"]
    # With the site's hours left as they are, both rows pass: the need stays covered.
    row(tables, "sites", "hantverk")["supervisor_hours"] = "20"
    report = import_files(service, apply=True, force=False, tables=tables, names=("sites", "slots"))
    assert not report["refused"], report["refused"]
    assert call(service, "coordinator", "GET", "/slots/furn").json()["supports"] == []
    assert warnings(service, placement) == []
