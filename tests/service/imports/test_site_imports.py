"""Imports keep a site's capacity as PATCH /sites does: every change in the site's history, a file value that would
undo a change made in the service is a conflict (`?overwrite=sites:<field>`), and supervisor hours cannot go below
what the active placements need (in tests/service/imports/test_imports.py, with the other refusals).

The database holds the tiny data set of conftest; uploads are its tables, or an export, with a few cells changed."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

import pytest

from service.db import models as db
from service.db.engine import transaction
from tests.service.catalogue.test_site_capacity import call, etag, patch_site, site_history
from tests.service.imports.test_imports import changed, created, csv_text, fingerprint, refused, row, tiny_tables

API = "/api/v1"


def sites_csv(tables: Any) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", ("sites.csv", csv_text(*tables["sites"]), "text/csv"))]


def post_import(service: Any, files: Any, **params: str) -> Any:
    response = service.client.post(f"{API}/imports", files=files, params=params, headers=service.auth("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def history_of(service: Any, site: str) -> list[tuple[str, Any, Any, int | None]]:
    return [(r["field"], r["old_value"], r["new_value"], r["user_id"]) for r in site_history(service, site)]


def export_zip(service: Any) -> zipfile.ZipFile:
    response = call(service, "coordinator", "GET", "/exports")
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def edited_sites(archive: zipfile.ZipFile, site_id: str, **values: str) -> bytes:
    """The export's sites.csv (semicolons, decimal commas, BOM) with some cells of one row changed."""
    rows = list(csv.DictReader(io.StringIO(archive.read("sites.csv").decode("utf-8-sig")), delimiter=";"))
    for r in rows:
        if r["site_id"] == site_id:
            r.update(values)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


# --- the history -------------------------------------------------------------------------------------------------


def test_an_applied_import_writes_the_sites_changes_to_its_history_as_patch_does(service):
    coordinator = service.user_ids["coordinator"]
    tables = tiny_tables()
    row(tables, "sites", "vk2").update(supervisor_hours="4", name="Second hand", accessibility="wheelchair|ramp")
    row(tables, "sites", "vk1")["supervisor_hours"] = "3"  # from no limit
    before = fingerprint(service)
    dry = post_import(service, sites_csv(tables))
    assert changed(dry) == {
        ("site", "vk1"): [("supervisor_hours", None, 3.0)],
        ("site", "vk2"): [
            ("name", "Värmekällan Second hand", "Second hand"),
            ("accessibility", [], ["ramp", "wheelchair"]),
            ("supervisor_hours", 2.5, 4.0),
        ],
    }
    assert fingerprint(service) == before  # a dry run writes no history either
    tag = etag(service, "/sites/vk2")

    post_import(service, sites_csv(tables), apply="true")
    assert history_of(service, "vk2") == [
        ("name", "Värmekällan Second hand", "Second hand", coordinator),
        ("accessibility", [], ["ramp", "wheelchair"], coordinator),
        ("supervisor_hours", 2.5, 4, coordinator),
    ]
    assert history_of(service, "vk1") == [("supervisor_hours", None, 3, coordinator)]
    assert history_of(service, "hantverk") == []  # unchanged: no row
    assert etag(service, "/sites/vk2") != tag  # the ETag moved on, as after a PATCH
    # Unchanged since: importing the same file again writes nothing more.
    post_import(service, sites_csv(tables), apply="true")
    assert len(site_history(service, "vk2")) == 3


def test_a_site_created_by_an_import_starts_its_history_as_one_created_by_post(service):
    coordinator = service.user_ids["coordinator"]
    tables = tiny_tables()
    tables["sites"][1].append(dict(row(tables, "sites", "vk2"), site_id="vk9", name="Annex", supervisor_hours="4"))
    report = post_import(service, sites_csv(tables), apply="true")
    assert created(report) == [("site", "vk9")]
    body = {"id": "vk8", "enterprise_id": "vk", "name": "Annex 2", "municipality": "Upplands Väsby", "lat": 59.5,
            "lon": 17.9, "supervisor_hours": 4}  # fmt: skip
    assert call(service, "coordinator", "POST", "/sites", body).status_code == 201
    assert history_of(service, "vk9") == history_of(service, "vk8") == [("supervisor_hours", None, 4, coordinator)]


# --- undoing a change made in the service ---------------------------------------------------------------------------


def test_an_old_file_would_undo_a_managers_new_supervisor_hours_and_needs_overwrite(service):
    old = sites_csv(tiny_tables())  # vk2 has 2.5 supervisor hours
    assert patch_site(service, "enterprise_manager", {"supervisor_hours": 4}).status_code == 200
    report = post_import(service, old, apply="true")
    assert refused(report) == [("site", "vk2", "sites.csv", 4)]
    reason = report["refused"][0]["reason"]
    assert reason.startswith("would undo a change made in the service (supervisor_hours: the file says 2.5, a value")
    assert "enterprise_manager set 4" in reason and reason.endswith(
        "send ?overwrite=sites:supervisor_hours to apply the file"
    )
    [conflict] = report["conflicts"]
    assert {k: conflict[k] for k in ("kind", "id", "field", "file", "row", "file_value", "service_value")} == {
        "kind": "site", "id": "vk2", "field": "supervisor_hours", "file": "sites.csv", "row": 4,
        "file_value": 2.5, "service_value": 4,
    }  # fmt: skip
    assert (conflict["changed_by"], conflict["overwritten"], conflict["overwrite"]) == (
        "enterprise_manager", False, "sites:supervisor_hours",
    )  # fmt: skip
    assert call(service, "coordinator", "GET", "/sites/vk2").json()["supervisor_hours"] == 4

    # Slots' overwrite does not cover sites; the site's own, the table's and `all` do.
    assert refused(post_import(service, old, overwrite="slots")) == [("site", "vk2", "sites.csv", 4)]
    for overwrite in ("sites:supervisor_hours", "sites", "all", "slots:seats,sites:supervisor_hours"):
        dry = post_import(service, old, overwrite=overwrite)
        assert dry["refused"] == [] and dry["conflicts"][0]["overwritten"] is True, overwrite
        assert changed(dry) == {("site", "vk2"): [("supervisor_hours", 4, 2.5)]}
    post_import(service, old, overwrite="sites:supervisor_hours", apply="true")
    assert call(service, "coordinator", "GET", "/sites/vk2").json()["supervisor_hours"] == 2.5
    assert history_of(service, "vk2")[-1] == ("supervisor_hours", 4, 2.5, service.user_ids["coordinator"])


def test_a_site_with_a_conflict_is_refused_whole_and_its_slots_still_import(service):
    tables = tiny_tables()
    assert patch_site(service, "enterprise_manager", {"name": "Second hand"}).status_code == 200
    row(tables, "sites", "vk2")["supervisor_hours"] = "3"  # the file's own change, in the same row as the old name
    tables["slots"][1].append(dict(row(tables, "slots", "shop"), slot_id="shop2"))
    files = sites_csv(tables) + [("files", ("slots.csv", csv_text(*tables["slots"]), "text/csv"))]
    report = post_import(service, files, overwrite="sites:supervisor_hours")
    assert [(c["field"], c["overwritten"]) for c in report["conflicts"]] == [("name", False)]
    assert refused(report) == [("site", "vk2", "sites.csv", 4)]
    assert "?overwrite=sites:name" in report["refused"][0]["reason"]
    assert changed(report) == {} and created(report) == [("slot", "shop2")]  # the site exists, as it is


def test_a_new_site_value_that_undoes_nothing_is_applied(service):
    assert patch_site(service, "enterprise_manager", {"supervisor_hours": 4}).status_code == 200
    tables = tiny_tables()
    row(tables, "sites", "vk2")["supervisor_hours"] = "6"  # no value the service replaced: the coordinator's own
    report = post_import(service, sites_csv(tables))
    assert report["conflicts"] == [] and changed(report) == {("site", "vk2"): [("supervisor_hours", 4, 6.0)]}


def test_with_the_export_time_any_site_change_since_the_export_is_a_conflict(service):
    archive = export_zip(service)
    assert patch_site(service, "enterprise_manager", {"supervisor_hours": 4}).status_code == 200  # after the export
    stamp = ("files", ("export.csv", archive.read("export.csv"), "text/csv"))
    sites = ("files", ("sites.csv", edited_sites(archive, "vk2", supervisor_hours="3"), "text/csv"))
    report = post_import(service, [sites, stamp])
    assert report["exported_at"] is not None
    assert [(c["field"], c["file_value"], c["service_value"]) for c in report["conflicts"]] == [
        ("supervisor_hours", 3, 4)
    ]
    assert "after the file was exported" in report["refused"][0]["reason"]
    # Without the export's time, 3 is no value the service replaced: the file's edit is applied.
    report = post_import(service, [sites])
    assert report["conflicts"] == [] and changed(report) == {("site", "vk2"): [("supervisor_hours", 4, 3.0)]}


def test_with_the_export_time_a_site_change_before_the_export_is_no_conflict(service):
    assert patch_site(service, "enterprise_manager", {"supervisor_hours": 4}).status_code == 200
    archive = export_zip(service)  # vk2 has 4 hours in the file
    stamp = ("files", ("export.csv", archive.read("export.csv"), "text/csv"))
    sites = ("files", ("sites.csv", edited_sites(archive, "vk2", supervisor_hours="2,5"), "text/csv"))
    report = post_import(service, [sites, stamp])  # back to 2.5, knowingly
    assert report["conflicts"] == [] and changed(report) == {("site", "vk2"): [("supervisor_hours", 4, 2.5)]}
    # Without it, 2.5 is the value the manager replaced: taken for an undo.
    assert [c["field"] for c in post_import(service, [sites])["conflicts"]] == ["supervisor_hours"]


@pytest.mark.parametrize("overwrite", ["sites:supervisor_hours", "sites:name", "sites:accessibility", "sites"])
def test_site_overwrite_items_are_known(service, overwrite):
    assert post_import(service, sites_csv(tiny_tables()), overwrite=overwrite)["refused"] == []


def test_an_unknown_site_overwrite_is_422_listing_the_site_fields(service):
    response = service.client.post(
        f"{API}/imports",
        files=sites_csv(tiny_tables()),
        params={"overwrite": "sites:seats"},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == "overwrite" and "sites:seats" in body["detail"]
    assert "sites:<field> with a field of sites.csv (" in body["detail"] and "supervisor_hours" in body["detail"]


def test_supervision_refusal_counts_only_active_placements(service):
    """An ended placement needs no supervision: the same lowering is refused, then allowed once it ends."""
    placement = call(
        service,
        "coordinator",
        "POST",
        "/placements",
        {"participant_id": "P2", "slot_id": "shop", "start_date": "2026-11-23"},
    )
    assert placement.status_code == 201, placement.text
    tables = tiny_tables()
    row(tables, "sites", "vk2")["supervisor_hours"] = "1"
    assert refused(post_import(service, sites_csv(tables))) == [("site", "vk2", "sites.csv", 4)]
    with transaction(service.factory) as session:
        session.get(db.Placement, placement.json()["id"]).end_date = date(2026, 11, 30)  # type: ignore[union-attr]
    report = post_import(service, sites_csv(tables))
    assert report["refused"] == [] and changed(report) == {("site", "vk2"): [("supervisor_hours", 2.5, 1.0)]}


# --- a data set made through the API exports and imports back unchanged --------------------------------------------


def test_a_data_set_made_through_the_api_exports_and_imports_back_as_a_no_op(service):
    """Records made and changed through the API, municipalities typed in lowercase, placed and re-capacitated: the
    default export (semicolons, decimal commas) imports back with nothing created, changed, refused or warned."""

    def ok(method: str, path: str, body: Any, status: int = 200, **headers: str) -> Any:
        response = call(service, "coordinator", method, path, body, **headers)
        assert response.status_code == status, response.text
        return response.json()

    def patched_site(site_id: str, body: dict[str, Any]) -> Any:
        response = patch_site(service, "coordinator", body, site_id)
        assert response.status_code == 200, response.text
        return response.json()

    enterprise = {"id": "bageri", "name": "Bageriet", "municipality": "upplands vasby"}
    assert ok("POST", "/enterprises", enterprise, 201)["municipality"] == "Upplands Väsby"
    site = {"id": "bake1", "enterprise_id": "bageri", "name": "Bakery", "municipality": "upplands vasby",
            "lat": 59.5184, "lon": 17.9113, "accessibility": ["wheelchair", "hearing_loop"],
            "supervisor_hours": 7.5}  # fmt: skip
    assert ok("POST", "/sites", site, 201)["municipality"] == "Upplands Väsby"
    slot = {"id": "bake", "site_id": "bake1", "activity": "bakery", "seats": 2, "min_hours": 5, "max_hours": 20,
            "days": ["tue", "mon"], "supervision_ratio": 0.3}  # fmt: skip
    ok("POST", "/slots", slot, 201)
    person = {"id": "P9", "programme": "SAMRE", "municipality": "UPPLANDS-BRO", "lat": 59.51, "lon": 17.9,
              "hours_per_week": 10, "days_available": ["mon", "tue"], "max_travel_minutes": 60}  # fmt: skip
    assert ok("POST", "/participants", person, 201)["municipality"] == "Upplands-Bro"
    ok("POST", "/placements", {"participant_id": "P9", "slot_id": "bake", "start_date": "2026-11-23"}, 201)
    # Changes after creation, so the history has rows an import could take for an undo.
    patched_site("bake1", {"supervisor_hours": 6.25, "name": "Bageriet"})
    assert patched_site("vk1", {"municipality": "sollentuna"})["municipality"] == "Sollentuna"
    ok("PATCH", "/slots/bake", {"seats": 3}, **{"If-Match": etag(service, "/slots/bake")})
    assert ok("PATCH", "/participants/P1", {"municipality": "upplands vasby"})["municipality"] == "Upplands Väsby"
    assert ok("PATCH", "/enterprises/bageri", {"municipality": "knivsta"})["municipality"] == "Knivsta"

    archive = export_zip(service)  # the default dialect
    before = fingerprint(service)
    names = archive.namelist()
    assert "export.csv" in names
    for files in (
        [("files", (name, archive.read(name), "text/csv")) for name in names],  # with the export's time
        [("files", (name, archive.read(name), "text/csv")) for name in names if name != "export.csv"],  # without
    ):
        report = post_import(service, files)
        assert (report["created"], report["changed"], report["refused"]) == ([], [], [])
        assert (report["conflicts"], report["warnings"]) == ([], [])
        assert report["summary"]["unchanged"] == 3 + 4 + 5 + 7  # enterprises, sites, slots, participants
        post_import(service, files, apply="true")
        assert fingerprint(service) == before


def test_a_slot_moved_by_an_import_is_in_its_history_and_an_old_file_needs_slots_site_id(service):
    tables = tiny_tables()
    row(tables, "slots", "sew")["site_id"] = "vk2"
    slots = [("files", ("slots.csv", csv_text(*tables["slots"]), "text/csv"))]
    post_import(service, slots, apply="true")
    history = call(service, "coordinator", "GET", "/slots/sew/history").json()
    assert [(r["field"], r["old_value"], r["new_value"]) for r in history] == [("site_id", "vk1", "vk2")]
    old = [("files", ("slots.csv", csv_text(*tiny_tables()["slots"]), "text/csv"))]
    report = post_import(service, old)
    assert [(c["field"], c["overwrite"]) for c in report["conflicts"]] == [("site_id", "slots:site_id")]
    report = post_import(service, old, overwrite="slots:site_id")
    assert report["refused"] == [] and changed(report) == {("slot", "sew"): [("site_id", "vk2", "vk1")]}
