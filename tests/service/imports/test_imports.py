"""POST /imports and GET /exports: a data set in the exchange format, read as the command line reads it.

The uploads start from the tiny data set of conftest (the database holds exactly it) written by
`matcher.write_dataset`, then change a few cells, so every expected number below can be read off the change.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

import matcher
from service.core_bridge import load_instance
from service.db import models as db
from service.db.engine import transaction
from tests.service.conftest import tiny_instance

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Tables = dict[str, tuple[list[str], list[dict[str, str]]]]


# --- helpers -----------------------------------------------------------------------------------------------------


def tiny_tables() -> Tables:
    """The tiny data set as CSV tables: name -> (header, rows as dicts of text)."""
    with tempfile.TemporaryDirectory() as tmp:
        matcher.write_dataset(tiny_instance(), tmp)
        tables: Tables = {}
        for path in sorted(Path(tmp).glob("*.csv")):
            with path.open(encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                tables[path.stem] = (list(reader.fieldnames or []), list(reader))
    return tables


def row(tables: Tables, name: str, key: str) -> dict[str, str]:
    header, rows = tables[name]
    id_column = header[0]
    return next(r for r in rows if r[id_column] == key)


def csv_text(header: list[str], rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_files(tables: Tables) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"{name}.csv", csv_text(*table), "text/csv")) for name, table in tables.items()]


def workbook(tables: Tables) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, (header, rows) in tables.items():
        sheet = book.create_sheet(name)
        sheet.append(header)
        for r in rows:
            sheet.append([r[h] for h in header])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(service: Any, files: Any, apply: bool = False, who: str = "coordinator") -> Any:
    params = {"apply": "true"} if apply else {}
    return service.client.post(f"{API}/imports", files=files, params=params, headers=service.auth(who))


def fingerprint(service: Any) -> dict[str, list[str]]:
    """Every row of the data tables (not users, not the audit log): an import that writes nothing leaves them as is."""
    with transaction(service.factory) as session:
        return {
            table.name: sorted(repr(tuple(r)) for r in session.execute(select(table)))
            for table in db.Base.metadata.sorted_tables
            if table.name not in ("users", "audit_log", "audit_participants")
        }


def audit(service: Any, action: str) -> list[list[str]]:
    """The participants of each audit entry of POST /imports with `action`, oldest first (one entry per request)."""
    with transaction(service.factory) as session:
        entries = session.scalars(
            select(db.AuditEntry)
            .where(db.AuditEntry.action == action, db.AuditEntry.path == f"{API}/imports")
            .order_by(db.AuditEntry.id)
        )
        return [[p.participant_id for p in e.participants] for e in entries]


def add_placement(service: Any, participant_id: str, slot_id: str, start: date = date(2026, 1, 1)) -> int:
    with transaction(service.factory) as session:
        placement = db.Placement(
            association_id="default", participant_id=participant_id, slot_id=slot_id, start_date=start
        )
        session.add(placement)
        session.flush()
        return placement.id


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


def changed(report: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, Any, Any]]]:
    return {(c["kind"], c["id"]): [(f["field"], f["old"], f["new"]) for f in c["changes"]] for c in report["changed"]}


def created(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["id"]) for c in report["created"]]


def refused(report: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return [(r["kind"], r["id"], r["file"], r["row"]) for r in report["refused"]]


def good_changes() -> Tables:
    """A new enterprise with a site and a slot, more seats in 'shop', P2 with more hours, a new P7 holding 'furn'."""
    tables = tiny_tables()
    tables["enterprises"][1].append({"enterprise_id": "nya", "name": "Nya Verkstan", "municipality": "Sollentuna"})
    site = dict(
        row(tables, "sites", "vk1"), site_id="nya1", enterprise_id="nya", name="Nya Verkstan", municipality="Sollentuna"
    )
    tables["sites"][1].append(site)
    slot = dict(
        row(tables, "slots", "sew"), slot_id="bike", site_id="nya1", activity="bike_repair", seats="2", days="mon|wed"
    )
    tables["slots"][1].append(slot)
    row(tables, "slots", "shop")["seats"] = "5"
    row(tables, "participants", "P2")["hours_per_week"] = "20"
    tables["participants"][1].append(
        dict(row(tables, "participants", "P1"), participant_id="P7", current_slot_id="furn", waiting_since="2026-02-01")
    )
    tables["travel_times"] = (
        ["participant_id", "site_id", "minutes"],
        [{"participant_id": "P7", "site_id": "hantverk", "minutes": "25"}],
    )
    return tables


EXPECTED_CREATED = [
    ("enterprise", "nya"),
    ("site", "nya1"),
    ("slot", "bike"),
    ("participant", "P7"),
    ("travel_time", "P7/hantverk"),
    ("placement", "P7"),
]
EXPECTED_CHANGED = {("slot", "shop"): [("seats", 3, 5)], ("participant", "P2"): [("hours_per_week", 10, 20)]}


# --- a good CSV import -------------------------------------------------------------------------------------------


def test_a_dry_run_reports_what_would_change_and_writes_nothing(service):
    before = fingerprint(service)
    response = upload(service, csv_files(good_changes()))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is False
    assert report["format"] == "csv"
    assert report["files"] == ["enterprises.csv", "participants.csv", "sites.csv", "slots.csv", "travel_times.csv"]
    assert created(report) == EXPECTED_CREATED
    assert report["created"][-1]["detail"] == "active placement in slot 'furn' from 2026-02-01"
    assert changed(report) == EXPECTED_CHANGED
    assert report["refused"] == []
    # 2 enterprises, 3 sites, 3 of the 4 slots and 5 of the 6 participants are as in the database.
    assert report["summary"] == {"created": 6, "changed": 2, "unchanged": 13, "refused": 0}
    assert report["not_in_upload"] == {"enterprises": 0, "sites": 0, "slots": 0, "participants": 0, "travel_times": 0}
    assert fingerprint(service) == before
    assert audit(service, "read") == [["P1", "P2", "P3", "P4", "P5", "P6"]]  # compared, so read; one entry
    assert audit(service, "import") == []


def test_apply_writes_everything_and_a_second_import_changes_nothing(service):
    response = upload(service, csv_files(good_changes()), apply=True)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is True
    assert created(report) == EXPECTED_CREATED
    assert changed(report) == EXPECTED_CHANGED
    coordinator = service.user_ids["coordinator"]
    with transaction(service.factory) as session:
        assert session.get(db.Enterprise, ("default", "nya")).association_id == "default"  # type: ignore[union-attr]
        assert session.get(db.Site, ("default", "nya1")).enterprise_id == "nya"  # type: ignore[union-attr]
        bike = session.get(db.Slot, ("default", "bike"))
        assert bike is not None and (bike.seats, bike.activity, bike.days) == (2, "bike_repair", ["mon", "wed"])
        shop = session.get(db.Slot, ("default", "shop"))
        assert shop is not None and (shop.seats, shop.version) == (5, 2)  # the ETag moved on
        assert session.get(db.Participant, ("default", "P2")).hours_per_week == 20  # type: ignore[union-attr]
        p7 = session.get(db.Participant, ("default", "P7"))
        assert p7 is not None and p7.association_id == "default" and p7.coach_id is None
        placement = session.scalar(select(db.Placement).where(db.Placement.participant_id == "P7"))
        assert placement is not None
        assert (placement.slot_id, placement.start_date, placement.end_date, placement.created_by) == (
            "furn", date(2026, 2, 1), None, coordinator,
        )  # fmt: skip
        assert session.get(db.TravelTime, ("default", "P7", "hantverk")).minutes == 25  # type: ignore[union-attr]
        history = sorted(
            ("slot", c.slot_id, c.field, c.old_value, c.new_value, c.user_id)
            if c.slot_id
            else ("site", c.site_id, c.field, c.old_value, c.new_value, c.user_id)
            for c in session.scalars(select(db.CapacityChange))
        )
    assert history == [
        ("site", "nya1", "supervisor_hours", None, None, coordinator),  # a new site starts its history, as POST does
        ("slot", "bike", "days", None, ["mon", "wed"], coordinator),
        ("slot", "bike", "max_hours", None, 30, coordinator),
        ("slot", "bike", "min_hours", None, 5, coordinator),
        ("slot", "bike", "seats", None, 2, coordinator),
        ("slot", "shop", "seats", 3, 5, coordinator),
    ]
    assert audit(service, "import") == [["P1", "P2", "P3", "P4", "P5", "P6", "P7"]]  # compared, changed or created

    before = fingerprint(service)
    again = upload(service, csv_files(good_changes()))
    assert again.status_code == 200, again.text
    assert again.json()["summary"] == {"created": 0, "changed": 0, "unchanged": 20, "refused": 0}
    assert upload(service, csv_files(good_changes()), apply=True).json()["summary"]["changed"] == 0
    assert fingerprint(service) == before


def test_a_semicolon_file_with_decimal_commas_reads_as_the_command_line_reads_it(service):
    tables = tiny_tables()
    header, rows = tables["sites"]
    text = ";".join(header) + "\n" + "\n".join(";".join(r[h].replace(".", ",") for h in header) for r in rows) + "\n"
    files = [f for f in csv_files(tables) if f[1][0] != "sites.csv"] + [
        ("files", ("Sites.CSV", b"\xef\xbb\xbf" + text.encode(), "text/csv"))
    ]
    report = upload(service, files).json()
    assert report["summary"] == {"created": 0, "changed": 0, "unchanged": 15, "refused": 0}


# --- invalid data sets -------------------------------------------------------------------------------------------


def test_a_bad_file_answers_422_naming_file_row_and_column_and_writes_nothing(service):
    tables = tiny_tables()
    row(tables, "sites", "vk1")["lat"] = "91"  # sites.csv row 3
    row(tables, "slots", "sew")["seats"] = "many"  # slots.csv row 3
    row(tables, "slots", "garden")["min_hours"] = "25"  # slots.csv row 5: 25 > max_hours 20
    row(tables, "slots", "garden")["max_hours"] = "20"
    row(tables, "participants", "P3")["hours_per_week"] = ""  # participants.csv row 4
    row(tables, "participants", "P6")["travel_mode"] = "rocket"  # participants.csv row 7
    before = fingerprint(service)
    for apply in (False, True):
        body = assert_problem(upload(service, csv_files(tables), apply=apply), 422)
        problems = [(p["file"], p["row"], p["column"]) for p in body["problems"]]
        assert problems == [
            ("participants.csv", 4, "hours_per_week"),
            ("participants.csv", 7, "travel_mode"),
            ("sites.csv", 3, "lat"),
            ("slots.csv", 3, "seats"),
            ("slots.csv", 5, "max_hours"),
        ]
        messages = {(p["file"], p["row"]): p["message"] for p in body["problems"]}
        assert messages[("sites.csv", 3)] == "must be between -90 and 90, got 91"
        assert messages[("slots.csv", 3)] == "'many' is not a whole number"
        assert messages[("slots.csv", 5)] == "max_hours (20) is before min_hours (25)"
        assert messages[("participants.csv", 4)] == "required value is empty"
        assert "participants.csv:4:hours_per_week: required value is empty" in body["detail"]
    assert fingerprint(service) == before
    assert audit(service, "read") == []


def test_cross_file_problems_and_pinned_limits_are_refused_with_their_rows(service):
    tables = tiny_tables()
    row(tables, "participants", "P6")["current_slot_id"] = "nowhere"
    body = assert_problem(upload(service, csv_files(tables)), 422)
    assert body["problems"] == [
        {"file": "participants.csv", "row": 7, "column": "current_slot_id", "message": "unknown slot 'nowhere'"}
    ]
    tables = tiny_tables()
    for pid in ("P1", "P2"):  # 'sew' has one seat
        row(tables, "participants", pid).update(current_slot_id="sew", pinned="true")
    body = assert_problem(upload(service, csv_files(tables), apply=True), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [("slots.csv", 3, "seats")]
    assert "'sew' has 1 seat(s) but 2 pinned participants (P1, P2)" in body["problems"][0]["message"]


# --- workbooks ---------------------------------------------------------------------------------------------------


def test_an_xlsx_workbook_imports_like_the_csv_files(service):
    tables = tiny_tables()
    row(tables, "enterprises", "vk")["name"] = "Värmekällan AB"
    row(tables, "participants", "P4")["max_travel_minutes"] = "45"
    files = [("files", ("Plan 2026.xlsx", workbook(tables), XLSX))]
    before = fingerprint(service)
    report = upload(service, files).json()
    assert report["format"] == "xlsx" and report["files"] == ["Plan 2026.xlsx"]
    assert changed(report) == {
        ("enterprise", "vk"): [("name", "Värmekällan", "Värmekällan AB")],
        ("participant", "P4"): [("max_travel_minutes", 60, 45)],
    }
    assert fingerprint(service) == before
    assert upload(service, files, apply=True).json()["applied"] is True
    with transaction(service.factory) as session:
        assert session.get(db.Enterprise, ("default", "vk")).name == "Värmekällan AB"  # type: ignore[union-attr]
        assert session.get(db.Participant, ("default", "P4")).max_travel_minutes == 45  # type: ignore[union-attr]


def test_a_bad_workbook_names_the_sheet(service):
    tables = tiny_tables()
    row(tables, "slots", "shop")["days"] = "mon|someday"
    body = assert_problem(upload(service, [("files", ("book.xlsx", workbook(tables), XLSX))]), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [("book.xlsx[slots]", 4, "days")]
    body = assert_problem(upload(service, [("files", ("book.xlsx", b"not a zip", XLSX))]), 422)
    assert body["problems"][0]["file"] == "book.xlsx" and "cannot be opened" in body["problems"][0]["message"]


# --- what an import refuses --------------------------------------------------------------------------------------


def test_ids_another_association_uses_are_created_in_ours_and_it_is_never_mentioned(service):
    """Ids are unique within an association: 'far' is the other association's enterprise, and ours to create too."""
    tables = tiny_tables()
    tables["enterprises"][1].append({"enterprise_id": "far", "name": "Taken over", "municipality": "Sigtuna"})
    tables["sites"][1].append(dict(row(tables, "sites", "vk1"), site_id="far2", enterprise_id="far"))
    tables["slots"][1].append(dict(row(tables, "slots", "sew"), slot_id="far2_slot", site_id="far2"))
    row(tables, "slots", "shop")["seats"] = "4"
    response = upload(service, csv_files(tables), apply=True)
    report = response.json()
    assert refused(report) == []
    assert created(report) == [("enterprise", "far"), ("site", "far2"), ("slot", "far2_slot")]
    assert changed(report) == {("slot", "shop"): [("seats", 3, 4)]}
    assert "other" not in response.text and "another association" not in response.text
    with transaction(service.factory) as session:
        ours, theirs = session.get(db.Enterprise, ("default", "far")), session.get(db.Enterprise, ("other", "far"))
        assert ours is not None and ours.name == "Taken over"
        assert theirs is not None and theirs.name == "Elsewhere"  # untouched
        assert session.get(db.Site, ("default", "far2")).enterprise_id == "far"  # type: ignore[union-attr]
        assert session.get(db.Slot, ("default", "far2_slot")) is not None
        assert session.get(db.Slot, ("default", "shop")).seats == 4  # type: ignore[union-attr]


def test_another_associations_coordinator_imports_into_their_own_and_changes_nothing_of_ours(service):
    def ours() -> dict[str, list[str]]:
        return {
            name: [r for r in rows if "'default'" in r]
            for name, rows in fingerprint(service).items()
            if name != "associations"
        }

    before = ours()
    response = upload(service, csv_files(tiny_tables()), apply=True, who="foreign_coordinator")
    report = response.json()
    assert report["summary"]["refused"] == 0 and report["summary"]["changed"] == 0
    assert report["summary"]["created"] == 2 + 3 + 4 + 6  # enterprises, sites, slots, participants
    assert "default" not in response.text and "another association" not in response.text
    assert ours() == before
    with transaction(service.factory) as session:
        people = session.scalars(select(db.Participant.id).where(db.Participant.association_id == "other")).all()
        assert sorted(people) == [f"P{i}" for i in range(1, 7)]


def test_seats_below_the_seats_taken_are_refused(service):
    add_placement(service, "P1", "furn")
    add_placement(service, "P3", "furn")
    tables = tiny_tables()
    for pid in ("P1", "P3"):
        row(tables, "participants", pid)["current_slot_id"] = "furn"
    row(tables, "slots", "furn")["seats"] = "1"
    row(tables, "slots", "shop")["seats"] = "4"
    report = upload(service, csv_files(tables), apply=True).json()
    assert refused(report) == [("slot", "furn", "slots.csv", 2)]
    assert "below the 2 seat(s) taken" in report["refused"][0]["reason"]
    assert changed(report) == {("slot", "shop"): [("seats", 3, 4)]}
    with transaction(service.factory) as session:
        assert session.get(db.Slot, ("default", "furn")).seats == 2  # type: ignore[union-attr]
        fields = [(c.slot_id, c.field) for c in session.scalars(select(db.CapacityChange))]
    assert fields == [("shop", "seats")]


def test_current_slot_id_creates_placements_but_never_ends_or_moves_one(service):
    """The service's placements are the truth: a file that differs is warned about, the rest of its row counts."""
    held = add_placement(service, "P1", "furn", start=date(2026, 11, 2))
    add_placement(service, "P3", "furn")
    tables = tiny_tables()
    row(tables, "participants", "P1")["current_slot_id"] = "sew"  # holds furn: kept, a warning
    row(tables, "participants", "P3")["hours_per_week"] = "12"  # holds furn, the file says none: kept, a warning
    row(tables, "participants", "P5")["current_slot_id"] = "sew"  # takes sew's one seat
    row(tables, "participants", "P6")["current_slot_id"] = "sew"  # sew is full by then: refused
    report = upload(service, csv_files(tables), apply=True).json()
    assert refused(report) == [("participant", "P6", "participants.csv", 7)]
    assert report["refused"][0]["reason"] == "slot 'sew' has no free seat for a placement (1 of 1 taken)"
    assert [(w["file"], w["row"], w["column"], w["message"]) for w in report["warnings"]] == [
        (
            "participants.csv", 2, "current_slot_id",
            "P1: the file says slot 'sew', the service has P1 placed in 'furn' since 2026-11-02; "
            "the service's placement is kept",
        ),
        (
            "participants.csv", 4, "current_slot_id",
            "P3: the file says no slot, the service has P3 placed in 'furn' since 2026-01-01; "
            "the service's placement is kept",
        ),
    ]  # fmt: skip
    assert created(report) == [("placement", "P5")]
    assert changed(report) == {
        ("participant", "P3"): [("hours_per_week", 10, 12)],
        ("participant", "P5"): [("current_slot_id", None, "sew")],
    }
    with transaction(service.factory) as session:
        active = dict(
            session.execute(
                select(db.Placement.participant_id, db.Placement.slot_id).where(db.Placement.end_date.is_(None))
            ).all()
        )
        assert session.get(db.Participant, ("default", "P3")).hours_per_week == 12  # type: ignore[union-attr]
        assert session.get(db.Placement, held).end_date is None  # type: ignore[union-attr]
    assert active == {"P1": "furn", "P3": "furn", "P5": "sew"}


def test_supervisor_hours_below_what_the_active_placements_need_are_refused(service):
    """P2 (10 h at ratio 0.25) holds shop at vk2: 2.5 supervisor hours; the file, without P2, gives vk2 2 hours."""
    held = add_placement(service, "P2", "shop")
    tables = tiny_tables()
    tables["participants"] = (
        tables["participants"][0],
        [r for r in tables["participants"][1] if r["participant_id"] != "P2"],
    )
    row(tables, "sites", "vk2")["supervisor_hours"] = "2"
    row(tables, "sites", "vk2")["name"] = "Värmekällan Second hand (new sign)"
    for pinned, seats in ((False, 4), (True, 5)):  # a placement is a fact whether it is pinned or not
        row(tables, "slots", "shop")["seats"] = str(seats)
        with transaction(service.factory) as session:
            session.get(db.Participant, ("default", "P2")).pinned = pinned  # type: ignore[union-attr]
        before = fingerprint(service)
        response = upload(service, csv_files(tables), apply=True)
        assert response.status_code == 200, response.text
        report = response.json()
        assert refused(report) == [("site", "vk2", "sites.csv", 4)]  # the row, not only its hours: as for seats
        reason = report["refused"][0]["reason"]
        assert reason == (
            f"the active placements {held} need 2.5 supervisor hours a week, so supervisor_hours cannot go below that "
            "(the file says 2); end or move those placements first"
        )
        assert changed(report) == {("slot", "shop"): [("seats", seats - 1, seats)]}  # the rest is written
        assert report["warnings"] == []
        with transaction(service.factory) as session:
            site = session.get(db.Site, ("default", "vk2"))
            assert site is not None and (site.supervisor_hours, site.version) == (2.5, 1)
            assert session.scalars(select(db.CapacityChange).where(db.CapacityChange.site_id == "vk2")).all() == []
        assert fingerprint(service)["sites"] == before["sites"]

    row(tables, "sites", "vk2")["supervisor_hours"] = "2.5"  # exactly what P2 needs: allowed
    report = upload(service, csv_files(tables)).json()
    assert report["refused"] == [] and changed(report)[("site", "vk2")] == [
        ("name", "Värmekällan Second hand", "Värmekällan Second hand (new sign)")
    ]


def test_supervisor_hours_of_a_site_already_over_may_stay_or_rise(service):
    """vk2 has 2.5 hours and, by a ratio raised in the service, its placement needs 5: re-importing 2.5, or 3,
    is no lowering and is not refused (the warning says the site is over); 2 is refused."""
    held = add_placement(service, "P2", "shop")
    with transaction(service.factory) as session:
        session.get(db.Slot, ("default", "shop")).supervision_ratio = 0.5  # type: ignore[union-attr]
    tables = tiny_tables()
    row(tables, "slots", "shop")["supervision_ratio"] = "0.5"
    for hours, refusals in (("2.5", []), ("3", []), ("2", [("site", "vk2", "sites.csv", 4)])):
        row(tables, "sites", "vk2")["supervisor_hours"] = hours
        report = upload(service, csv_files(tables)).json()
        assert refused(report) == refusals, hours
        if refusals:
            assert f"the active placements {held} need 5 supervisor hours" in report["refused"][0]["reason"]
        else:
            assert [(w["file"], w["column"]) for w in report["warnings"] if w["file"] == "sites.csv"] == [
                ("sites.csv", "supervisor_hours")
            ], hours


def test_the_data_after_the_import_must_keep_pinned_people_within_supervision(service):
    """P2 (10 h), pinned in shop at vk2 (2.5 h): a file raising shop's ratio to 0.5 makes P2 need 5 hours."""
    add_placement(service, "P2", "shop")
    tables = tiny_tables()
    row(tables, "slots", "shop")["supervision_ratio"] = "0.5"
    report = upload(service, csv_files(tables)).json()  # not pinned: a warning, the seat is a fact
    [warning] = [w for w in report["warnings"] if w["file"] == "sites.csv"]
    assert (warning["row"], warning["column"]) == (4, "supervisor_hours")
    assert "use 5 supervisor hours, more than its 2.5" in warning["message"]

    with transaction(service.factory) as session:
        session.get(db.Participant, ("default", "P2")).pinned = True  # type: ignore[union-attr]
    row(tables, "participants", "P2").update(pinned="true", current_slot_id="shop")
    before = fingerprint(service)
    body = assert_problem(upload(service, csv_files(tables), apply=True), 422)
    assert [(p["file"], p["row"], p["column"]) for p in body["problems"]] == [("sites.csv", 4, "supervisor_hours")]
    assert "pinned participants (P2) alone need 5" in body["problems"][0]["message"]
    assert fingerprint(service) == before


# --- the upload itself -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ([("files", ("people.csv", b"a\n1\n", "text/csv"))], "people.csv"),
        ([("files", ("notes.txt", b"hello", "text/plain"))], "notes.txt"),
        ([("files", ("slots.csv", b"a\n", "text/csv")), ("files", ("book.xlsx", b"x", XLSX))], "book.xlsx"),
        ([("files", ("slots.csv", b"a\n", "text/csv")), ("files", ("slots.csv", b"a\n", "text/csv"))], "slots.csv"),
        ([("files", ("a.xlsx", b"x", XLSX)), ("files", ("b.xlsx", b"x", XLSX))], "b.xlsx"),
    ],
)
def test_a_file_that_does_not_belong_is_named(service, files, named):
    body = assert_problem(upload(service, files), 422)
    assert body["file"] == named
    assert named in body["detail"]


def test_an_upload_without_files_or_not_multipart_is_422(service):
    body = assert_problem(upload(service, [("note", (None, "hello"))]), 422)
    assert "no file was uploaded" in body["detail"]
    response = service.client.post(f"{API}/imports", json={"files": []}, headers=service.auth("coordinator"))
    assert "multipart/form-data" in assert_problem(response, 422)["detail"]


def test_an_upload_over_the_limit_is_413(service, monkeypatch):
    monkeypatch.setattr(service.client.app.state.settings, "max_upload_bytes", 1000)  # type: ignore[attr-defined]
    body = assert_problem(upload(service, [("files", ("slots.csv", b"x" * 2000, "text/csv"))]), 413)
    assert body["limit_bytes"] == 1000


# --- exports -----------------------------------------------------------------------------------------------------


def _state_worth_exporting(service: Any) -> None:
    """An active placement, a pinned person, an ended placement, a travel time and a float that Excel rounds."""
    add_placement(service, "P1", "furn")
    ended = add_placement(service, "P2", "shop")
    with transaction(service.factory) as session:
        session.get(db.Placement, ended).end_date = date(2026, 6, 1)  # type: ignore[union-attr]
        session.get(db.Participant, ("default", "P1")).pinned = True  # type: ignore[union-attr]
        session.add(db.TravelTime(association_id="default", participant_id="P2", site_id="vk1", minutes=33))
        session.get(db.Participant, ("default", "P5")).lat = 59.550000000000004  # type: ignore[union-attr]
        session.get(db.Slot, ("default", "sew")).days = ["thu", "mon"]  # type: ignore[union-attr]  # any order, as the API allows


def test_a_csv_export_is_what_swedish_excel_opens_and_imports_back_as_a_no_op(service):
    _state_worth_exporting(service)
    response = service.client.get(f"{API}/exports", params={"format": "csv"}, headers=service.auth("coordinator"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="dataset-default-')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == [
        "enterprises.csv", "sites.csv", "slots.csv", "participants.csv", "travel_times.csv", "export.csv",
    ]  # fmt: skip
    stamp = archive.read("export.csv").decode("utf-8-sig").splitlines()
    assert stamp[0] == "exported_at;association_id" and stamp[1].endswith("+00:00;default")
    raw = archive.read("participants.csv")
    assert raw.startswith(b"\xef\xbb\xbfparticipant_id;programme;") and b"\r\n" in raw  # BOM, `;`, CRLF
    people = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert [(p["participant_id"], p["current_slot_id"], p["pinned"]) for p in people][:2] == [
        ("P1", "furn", "true"),
        ("P2", "", "false"),
    ]
    assert people[4]["lat"] == "59,550000000000004"  # a decimal comma
    sites = list(csv.DictReader(io.StringIO(archive.read("sites.csv").decode("utf-8-sig")), delimiter=";"))
    assert [s["supervisor_hours"] for s in sites] == ["20", "", "2,5"]
    with transaction(service.factory) as session:
        reads = [
            ([p.participant_id for p in e.participants], e.action, e.method)
            for e in session.scalars(select(db.AuditEntry).where(db.AuditEntry.path == f"{API}/exports"))
        ]
    assert reads == [(["P1", "P2", "P3", "P4", "P5", "P6"], "read", "GET")]

    before = fingerprint(service)
    files = [("files", (name, archive.read(name), "text/csv")) for name in archive.namelist()]
    report = upload(service, files).json()
    assert (report["created"], report["changed"], report["refused"], report["warnings"]) == ([], [], [], [])
    assert report["summary"]["unchanged"] == 16
    upload(service, files, apply=True)
    assert fingerprint(service) == before


def test_a_comma_csv_export_is_what_the_command_line_writes_and_imports_back_as_a_no_op(service):
    _state_worth_exporting(service)
    response = service.client.get(f"{API}/exports", params={"dialect": "comma"}, headers=service.auth("coordinator"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    with transaction(service.factory) as session:
        instance = load_instance(session, "default")
    with tempfile.TemporaryDirectory() as tmp:
        matcher.write_dataset(instance, tmp)
        for name in archive.namelist()[:-1]:  # the tables, then export.csv
            assert archive.read(name) == (Path(tmp) / name).read_bytes(), name
    files = [("files", (name, archive.read(name), "text/csv")) for name in archive.namelist()]
    report = upload(service, files).json()
    assert (report["created"], report["changed"], report["refused"]) == ([], [], [])


def test_an_unknown_dialect_is_422(service):
    response = service.client.get(f"{API}/exports", params={"dialect": "tab"}, headers=service.auth("coordinator"))
    assert_problem(response, 422)


def test_an_xlsx_export_imports_back_as_a_no_op(service):
    _state_worth_exporting(service)
    response = service.client.get(f"{API}/exports", params={"format": "xlsx"}, headers=service.auth("coordinator"))
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["enterprises", "sites", "slots", "participants", "travel_times", "export"]
    report = upload(service, [("files", ("export.xlsx", response.content, XLSX))]).json()
    assert (report["created"], report["changed"], report["refused"]) == ([], [], [])
    assert report["summary"]["unchanged"] == 16


def test_an_export_holds_only_the_own_association(service):
    response = service.client.get(f"{API}/exports", headers=service.auth("foreign_coordinator"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.read("enterprises.csv").decode("utf-8-sig").splitlines() == [
        "enterprise_id;name;municipality",
        "far;Elsewhere;Luleå",
    ]
    assert archive.read("participants.csv").decode().count("\n") == 1  # the header only


def test_an_unknown_export_format_is_422(service):
    response = service.client.get(f"{API}/exports", params={"format": "pdf"}, headers=service.auth("coordinator"))
    assert_problem(response, 422)


# --- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coach", "enterprise_manager"])
def test_only_coordinators_import_and_export(service, who):
    before = fingerprint(service)
    assert_problem(upload(service, csv_files(tiny_tables()), apply=True, who=who), 403)
    assert_problem(service.client.get(f"{API}/exports", headers=service.auth(who)), 403)
    assert_problem(service.client.get(f"{API}/exports", params={"format": "xlsx"}, headers=service.auth(who)), 403)
    assert fingerprint(service) == before


# --- the files Swedish Excel saves (read by the core reader, as on the command line) -------------------------------


def test_an_upload_as_swedish_excel_saves_it_reads_as_the_clean_one(service):
    """Windows-1252 `;` files with decimal commas and headers in capitals: the same data, with a warning per file."""
    files = []
    for name, (header, rows) in tiny_tables().items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow([h.upper() for h in header])
        for r in rows:
            decimal = ("lat", "lon", "supervision_ratio")
            writer.writerow([r[h].replace(".", ",") if h in decimal else r[h] for h in header])
        files.append(("files", (f"{name}.csv", buffer.getvalue().encode("cp1252"), "text/csv")))
    report = upload(service, files).json()
    plain = upload(service, csv_files(tiny_tables())).json()
    assert (report["created"], report["changed"], report["refused"]) == ([], [], [])
    assert report["summary"] == plain["summary"] and plain["warnings"] == []
    assert [(w["file"], w["row"]) for w in report["warnings"]] == [("enterprises.csv", 0), ("sites.csv", 0)]
    assert all("read as Windows-1252" in w["message"] for w in report["warnings"])


def test_a_file_lowering_a_slots_ratio_and_its_sites_hours_together_is_applied(service):
    """P2 (10 h) in shop at vk2 (ratio 0.25: 2.5 of vk2's 2.5 h): the file halves both, so P2 needs 1.25 of 1.25.
    The site's hours are checked with the ratios the import leaves; a slot refused keeps its ratio, and so the need."""
    add_placement(service, "P2", "shop")
    tables = tiny_tables()
    row(tables, "slots", "shop")["supervision_ratio"] = "0.125"
    row(tables, "sites", "vk2")["supervisor_hours"] = "1.25"
    row(tables, "participants", "P2")["current_slot_id"] = "shop"
    report = upload(service, csv_files(tables), apply=True).json()
    assert report["refused"] == [] and report["warnings"] == []
    assert changed(report) == {
        ("site", "vk2"): [("supervisor_hours", 2.5, 1.25)],
        ("slot", "shop"): [("supervision_ratio", 0.25, 0.125)],
    }

    # The slot refused (seats below the one taken): its ratio stays 0.125, so 1.25 h is needed and 1 h is too few.
    row(tables, "slots", "shop").update(supervision_ratio="0.1", seats="0")
    row(tables, "sites", "vk2")["supervisor_hours"] = "1"
    report = upload(service, csv_files(tables)).json()
    assert [(r["kind"], r["id"]) for r in report["refused"]] == [("slot", "shop"), ("site", "vk2")]
    assert "need 1.25 supervisor hours a week" in report["refused"][1]["reason"]
