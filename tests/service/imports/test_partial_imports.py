"""POST /imports with only the sheets that changed, re-imports after placements, and imports that would undo a change.

The database holds the tiny data set of conftest; uploads are its tables (as `matcher.write_dataset` writes them)
with a few cells changed, so every expected number can be read off the change.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import select

from service.db import models as db
from service.db.engine import transaction
from tests.service.imports.test_imports import (
    XLSX,
    Tables,
    assert_problem,
    changed,
    created,
    csv_text,
    fingerprint,
    refused,
    row,
    tiny_tables,
    upload,
    workbook,
)

API = "/api/v1"
LEFT = "not in the upload, left as they are"


def only(tables: Tables, *names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"{name}.csv", csv_text(*tables[name]), "text/csv")) for name in names]


def notes(report: dict[str, Any]) -> dict[str, str]:
    return {t["table"]: t["note"] for t in report["tables"]}


def data_rows(service: Any, *tables: str) -> dict[str, list[str]]:
    """The rows of some tables: a partial import leaves the tables it does not hold exactly as they were."""
    print_all = fingerprint(service)
    return {name: print_all[name] for name in tables}


def place(service: Any, participant_id: str, slot_id: str, start: str = "2026-11-02") -> int:
    response = service.client.post(
        f"{API}/placements",
        json={"participant_id": participant_id, "slot_id": slot_id, "start_date": start},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def patch_slot(service: Any, slot_id: str, who: str = "enterprise_manager", **changes: Any) -> None:
    got = service.client.get(f"{API}/slots/{slot_id}", headers=service.auth(who))
    response = service.client.patch(
        f"{API}/slots/{slot_id}", json=changes, headers={**service.auth(who), "If-Match": got.headers["etag"]}
    )
    assert response.status_code == 200, response.text


# --- one file at a time ------------------------------------------------------------------------------------------


def test_only_slots_csv_updates_the_slots_and_leaves_the_rest(service):
    tables = tiny_tables()
    row(tables, "slots", "shop")["seats"] = "5"
    tables["slots"][1].append(dict(row(tables, "slots", "sew"), slot_id="bike", activity="bike_repair"))
    others = data_rows(service, "enterprises", "sites", "participants", "travel_times", "placements")
    report = upload(service, only(tables, "slots")).json()
    assert report["partial"] is True and report["files"] == ["slots.csv"]
    assert created(report) == [("slot", "bike")]
    assert changed(report) == {("slot", "shop"): [("seats", 3, 5)]}
    assert report["summary"] == {"created": 1, "changed": 1, "unchanged": 3, "refused": 0}
    assert notes(report) == {
        "enterprises": LEFT,
        "sites": LEFT,
        "slots": "1 created, 1 changed, 3 unchanged, 0 refused",
        "participants": LEFT,
        "travel_times": LEFT,
    }
    assert report["not_in_upload"] == {"enterprises": 2, "sites": 3, "slots": 0, "participants": 6, "travel_times": 0}
    upload(service, only(tables, "slots"), apply=True)
    with transaction(service.factory) as session:
        assert session.get(db.Slot, ("default", "shop")).seats == 5  # type: ignore[union-attr]
        assert session.get(db.Slot, ("default", "bike")).site_id == "vk1"  # type: ignore[union-attr]
    assert data_rows(service, "enterprises", "sites", "participants", "travel_times", "placements") == others


def test_only_a_few_rows_of_slots_csv_leave_the_other_slots_as_they_are(service):
    header, rows = tiny_tables()["slots"]
    tables: Tables = {"slots": (header, [dict(r, seats="6") for r in rows if r["slot_id"] == "garden"])}
    others = data_rows(service, "slots")
    report = upload(service, only(tables, "slots")).json()
    assert changed(report) == {("slot", "garden"): [("seats", 4, 6)]}
    assert notes(report)["slots"] == "0 created, 1 changed, 0 unchanged, 0 refused; 3 not in the file, left as they are"
    assert report["tables"][2]["left_as_they_are"] == 3
    assert data_rows(service, "slots") == others  # a dry run


def test_only_enterprises_csv(service):
    tables = tiny_tables()
    row(tables, "enterprises", "vk")["name"] = "Värmekällan Ekonomisk förening"
    others = data_rows(service, "sites", "slots", "participants")
    report = upload(service, only(tables, "enterprises"), apply=True).json()
    assert changed(report) == {("enterprise", "vk"): [("name", "Värmekällan", "Värmekällan Ekonomisk förening")]}
    assert [t["table"] for t in report["tables"] if t["in_upload"]] == ["enterprises"]
    assert data_rows(service, "sites", "slots", "participants") == others


def test_only_sites_csv_checks_its_enterprises_against_the_database(service):
    tables = tiny_tables()
    tables["sites"][1].append(dict(row(tables, "sites", "vk1"), site_id="vk3", name="Värmekällan Café"))
    report = upload(service, only(tables, "sites")).json()
    assert created(report) == [("site", "vk3")]
    row(tables, "sites", "vk3")["enterprise_id"] = "nobody"  # sites.csv row 5
    body = assert_problem(upload(service, only(tables, "sites")), 422)
    assert body["problems"] == [
        {"file": "sites.csv", "row": 5, "column": "enterprise_id", "message": "unknown enterprise 'nobody'"}
    ]


def test_only_participants_csv_may_place_people_in_the_databases_slots(service):
    tables = tiny_tables()
    row(tables, "participants", "P2")["hours_per_week"] = "15"
    row(tables, "participants", "P4")["current_slot_id"] = "sew"
    report = upload(service, only(tables, "participants"), apply=True).json()
    assert changed(report) == {
        ("participant", "P2"): [("hours_per_week", 10, 15)],
        ("participant", "P4"): [("current_slot_id", None, "sew")],
    }
    assert created(report) == [("placement", "P4")]
    with transaction(service.factory) as session:
        placement = session.scalar(select(db.Placement).where(db.Placement.participant_id == "P4"))
        assert placement is not None and placement.slot_id == "sew"
    row(tables, "participants", "P5")["current_slot_id"] = "nowhere"  # participants.csv row 6
    body = assert_problem(upload(service, only(tables, "participants")), 422)
    assert [(p["file"], p["row"], p["column"], p["message"]) for p in body["problems"]] == [
        ("participants.csv", 6, "current_slot_id", "unknown slot 'nowhere'")
    ]


def test_only_travel_times_csv(service):
    tables: Tables = {
        "travel_times": (
            ["participant_id", "site_id", "minutes"],
            [
                {"participant_id": "P1", "site_id": "vk1", "minutes": "35"},
                {"participant_id": "P9", "site_id": "vk1", "minutes": "20"},  # row 3: no such participant
            ],
        )
    }
    body = assert_problem(upload(service, only(tables, "travel_times")), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [("travel_times.csv", 3, "participant_id")]
    tables["travel_times"][1].pop()
    report = upload(service, only(tables, "travel_times"), apply=True).json()
    assert created(report) == [("travel_time", "P1/vk1")]
    assert notes(report)["participants"] == LEFT
    with transaction(service.factory) as session:
        assert session.get(db.TravelTime, ("default", "P1", "vk1")).minutes == 35  # type: ignore[union-attr]


def test_a_workbook_with_only_the_participants_sheet(service):
    tables = tiny_tables()
    row(tables, "participants", "P6")["max_travel_minutes"] = "90"
    row(tables, "participants", "P3")["lat"] = "59,5"  # a decimal comma, as a workbook allows
    book = workbook({"participants": tables["participants"]})
    report = upload(service, [("files", ("deltagare.xlsx", book, XLSX))]).json()
    assert report["format"] == "xlsx" and report["partial"] is True
    assert changed(report) == {
        ("participant", "P3"): [("lat", pytest.approx(59.57), 59.5)],
        ("participant", "P6"): [("max_travel_minutes", 60, 90)],
    }
    row(tables, "participants", "P6")["travel_mode"] = "rocket"  # sheet row 7
    book = workbook({"participants": tables["participants"]})
    body = assert_problem(upload(service, [("files", ("deltagare.xlsx", book, XLSX))]), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [
        ("deltagare.xlsx[participants]", 7, "travel_mode")
    ]


def test_a_problem_in_a_record_the_upload_does_not_hold_names_the_record(service):
    """P3 is pinned in garden at vk1 (3 supervisor hours); a slots.csv raising garden's ratio to 1 needs 10 there."""
    place(service, "P3", "garden")
    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P3")).pinned = True  # type: ignore[union-attr]
        session.get(db.Site, ("default", "vk1")).supervisor_hours = 3  # type: ignore[union-attr]
    tables = tiny_tables()
    row(tables, "slots", "garden")["supervision_ratio"] = "1"
    before = fingerprint(service)
    body = assert_problem(upload(service, only(tables, "slots"), apply=True), 422)
    assert len(body["problems"]) == 1
    problem = body["problems"][0]
    assert (problem["file"], problem["row"], problem["column"]) == ("(the service's data)", 0, "supervisor_hours")
    assert problem["message"].startswith("site 'vk1', not in the upload: ")
    assert fingerprint(service) == before


def test_an_upload_with_none_of_the_tables_is_422(service):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "notes"  # type: ignore[union-attr]
    buffer = io.BytesIO()
    book.save(buffer)
    body = assert_problem(upload(service, [("files", ("notes.xlsx", buffer.getvalue(), XLSX))]), 422)
    assert body["problems"][0]["file"] == "notes.xlsx"
    assert "holds none of the tables" in body["problems"][0]["message"]
    stamp = b"exported_at;association_id\r\n2026-11-23T10:00:00+00:00;default\r\n"
    body = assert_problem(upload(service, [("files", ("export.csv", stamp, "text/csv"))]), 422)
    assert body["problems"][0]["file"] == "" and "holds none of the tables" in body["problems"][0]["message"]


# --- a re-import after placements were made in the service -------------------------------------------------------


def test_reimporting_participants_after_placements_warns_and_keeps_the_placements(service):
    exported = tiny_tables()  # exported before anyone was placed: every current_slot_id is empty
    place(service, "P1", "furn")
    place(service, "P2", "shop", start="2026-11-05")
    ended = place(service, "P4", "sew")
    response = service.client.patch(
        f"{API}/placements/{ended}",
        json={"end_reason": "work", "end_date": "2026-11-20"},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 200, response.text
    row(exported, "participants", "P4")["current_slot_id"] = "sew"  # a file from before P4's placement ended
    before = fingerprint(service)
    report = upload(service, only(exported, "participants"), apply=True).json()
    assert report["refused"] == [] and report["created"] == [] and report["changed"] == []
    assert [(w["row"], w["message"]) for w in report["warnings"]] == [
        (2, "P1: the file says no slot, the service has P1 placed in 'furn' since 2026-11-02; "
            "the service's placement is kept"),
        (3, "P2: the file says no slot, the service has P2 placed in 'shop' since 2026-11-05; "
            "the service's placement is kept"),
        (5, "P4: the file says slot 'sew', but the service ended P4's placement there on 2026-11-20; "
            "no placement is made (take one through /placements)"),
    ]  # fmt: skip
    assert fingerprint(service) == before


# --- an import that would undo a change made in the service ------------------------------------------------------


def exported_slots(service: Any) -> bytes:
    response = service.client.get(f"{API}/exports", headers=service.auth("coordinator"))
    return zipfile.ZipFile(io.BytesIO(response.content)).read("slots.csv")


def test_an_old_file_would_undo_a_managers_new_seats_and_needs_overwrite(service):
    old = exported_slots(service)  # shop has 3 seats
    patch_slot(service, "shop", seats=5)  # the manager's two new seats, after the export
    files = [("files", ("slots.csv", old, "text/csv"))]
    report = upload(service, files, apply=True).json()
    assert refused(report) == [("slot", "shop", "slots.csv", 5)]
    assert "would undo a change made in the service" in report["refused"][0]["reason"]
    assert "?overwrite=slots:seats" in report["refused"][0]["reason"]
    [conflict] = report["conflicts"]
    assert {k: conflict[k] for k in ("kind", "id", "field", "file", "row", "file_value", "service_value")} == {
        "kind": "slot", "id": "shop", "field": "seats", "file": "slots.csv", "row": 5,
        "file_value": 3, "service_value": 5,
    }  # fmt: skip
    assert (conflict["changed_by"], conflict["overwritten"], conflict["overwrite"]) == (
        "enterprise_manager", False, "slots:seats",
    )  # fmt: skip
    with transaction(service.factory) as session:
        assert session.get(db.Slot, ("default", "shop")).seats == 5  # type: ignore[union-attr]

    for overwrite in ("slots:seats", "slots", "all"):
        dry = service.client.post(
            f"{API}/imports", files=files, params={"overwrite": overwrite}, headers=service.auth("coordinator")
        ).json()
        assert dry["refused"] == [] and dry["conflicts"][0]["overwritten"] is True, overwrite
        assert changed(dry) == {("slot", "shop"): [("seats", 5, 3)]}
    applied = service.client.post(
        f"{API}/imports",
        files=files,
        params={"overwrite": "slots:seats", "apply": "true"},
        headers=service.auth("coordinator"),
    )
    assert applied.status_code == 200, applied.text
    with transaction(service.factory) as session:
        assert session.get(db.Slot, ("default", "shop")).seats == 3  # type: ignore[union-attr]
        last = session.scalars(select(db.CapacityChange).order_by(db.CapacityChange.id.desc())).first()
        assert last is not None and (last.field, last.old_value, last.new_value) == ("seats", 5, 3)


def test_overwriting_one_field_does_not_overwrite_another(service):
    old = exported_slots(service)
    patch_slot(service, "shop", seats=5, days=["mon", "tue"])
    files = [("files", ("slots.csv", old, "text/csv"))]
    report = service.client.post(
        f"{API}/imports", files=files, params={"overwrite": "slots:seats"}, headers=service.auth("coordinator")
    ).json()
    assert {(c["field"], c["overwritten"]) for c in report["conflicts"]} == {("seats", True), ("days", False)}
    assert refused(report) == [("slot", "shop", "slots.csv", 5)]
    assert "?overwrite=slots:days" in report["refused"][0]["reason"]


def test_a_new_value_that_undoes_nothing_is_applied(service):
    tables = tiny_tables()
    patch_slot(service, "shop", seats=5)
    row(tables, "slots", "shop")["seats"] = "6"  # not a value the service replaced: the coordinator's own
    report = upload(service, only(tables, "slots")).json()
    assert report["conflicts"] == [] and changed(report) == {("slot", "shop"): [("seats", 5, 6)]}


@pytest.mark.parametrize("overwrite", ["everything", "participants", "sites:colour", "slots:colour"])
def test_an_unknown_overwrite_is_422_naming_the_parameter(service, overwrite):
    response = service.client.post(
        f"{API}/imports",
        files=only(tiny_tables(), "slots"),
        params={"overwrite": overwrite},
        headers=service.auth("coordinator"),
    )
    body = assert_problem(response, 422)
    assert body["field"] == "overwrite" and overwrite in body["detail"]


def test_an_export_imported_back_file_by_file_changes_nothing(service):
    place(service, "P1", "furn")
    response = service.client.get(f"{API}/exports", headers=service.auth("coordinator"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    before = fingerprint(service)
    for name in archive.namelist():
        if name == "export.csv":
            continue
        files = [("files", (name, archive.read(name), "text/csv"))]
        report = upload(service, files, apply=True).json()
        assert (report["created"], report["changed"], report["refused"], report["warnings"]) == ([], [], [], []), name
        assert report["conflicts"] == []
    assert fingerprint(service) == before


# --- the export's time ---------------------------------------------------------------------------------------------


def export_zip(service: Any) -> zipfile.ZipFile:
    response = service.client.get(f"{API}/exports", headers=service.auth("coordinator"))
    return zipfile.ZipFile(io.BytesIO(response.content))


def edited_slots(archive: zipfile.ZipFile, slot_id: str, **values: str) -> bytes:
    text = archive.read("slots.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    for r in rows:
        if r["slot_id"] == slot_id:
            r.update(values)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


def test_with_the_export_time_any_change_since_the_export_is_a_conflict(service):
    archive = export_zip(service)
    patch_slot(service, "shop", seats=5)  # after the export
    slots = edited_slots(archive, "shop", seats="4")  # the coordinator's own edit of the old file: both changed
    stamped = [
        ("files", ("slots.csv", slots, "text/csv")),
        ("files", ("export.csv", archive.read("export.csv"), "text/csv")),
    ]
    report = upload(service, stamped).json()
    assert report["exported_at"] is not None
    assert [(c["field"], c["file_value"], c["service_value"]) for c in report["conflicts"]] == [("seats", 4, 5)]
    assert "after the file was exported" in report["refused"][0]["reason"]
    # Without the export's time, 4 is no value the service replaced: the file's edit is applied.
    report = upload(service, [stamped[0]]).json()
    assert report["exported_at"] is None and report["conflicts"] == []
    assert changed(report) == {("slot", "shop"): [("seats", 5, 4)]}


def test_with_the_export_time_a_change_before_the_export_is_no_conflict(service):
    patch_slot(service, "shop", seats=5)
    archive = export_zip(service)  # shop has 5 seats in the file
    slots = edited_slots(archive, "shop", seats="3")  # the coordinator goes back to 3, knowingly
    stamped = [
        ("files", ("slots.csv", slots, "text/csv")),
        ("files", ("export.csv", archive.read("export.csv"), "text/csv")),
    ]
    report = upload(service, stamped).json()
    assert report["conflicts"] == [] and changed(report) == {("slot", "shop"): [("seats", 5, 3)]}
    # Without it, 3 is the value the manager replaced: taken for an undo.
    assert [c["field"] for c in upload(service, [stamped[0]]).json()["conflicts"]] == ["seats"]


def test_an_xlsx_export_carries_its_time_in_a_sheet(service):
    response = service.client.get(f"{API}/exports", params={"format": "xlsx"}, headers=service.auth("coordinator"))
    patch_slot(service, "sew", days=["mon", "tue", "thu"])
    report = upload(service, [("files", ("export.xlsx", response.content, XLSX))]).json()
    assert report["exported_at"] is not None
    assert [(c["id"], c["field"], c["overwritten"]) for c in report["conflicts"]] == [("sew", "days", False)]
    assert refused(report) == [("slot", "sew", "export.xlsx[slots]", 4)]


def test_an_export_time_of_another_association_is_not_used(service):
    foreign = service.client.get(f"{API}/exports", headers=service.auth("foreign_coordinator"))
    stamp = zipfile.ZipFile(io.BytesIO(foreign.content)).read("export.csv")
    files = only(tiny_tables(), "slots") + [("files", ("export.csv", stamp, "text/csv"))]
    report = upload(service, files).json()
    assert report["exported_at"] is None
    assert [(w["file"], w["row"], w["column"]) for w in report["warnings"]] == [("export.csv", 2, "association_id")]


def test_an_unreadable_export_time_is_422(service):
    files = only(tiny_tables(), "slots") + [
        ("files", ("export.csv", b"exported_at;association_id\r\nyesterday;default\r\n", "text/csv"))
    ]
    body = assert_problem(upload(service, files), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [("export.csv", 2, "exported_at")]
