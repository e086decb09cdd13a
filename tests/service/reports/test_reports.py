"""GET /reports/utilisation and GET /reports/outcomes on the tiny data set, with every number worked out by hand.

The tiny set (conftest): slots furn (2 seats, furniture_renovation, site hantverk of vioni, Sigtuna), sew (1, sewing,
vk1), garden (4, allotment_garden, vk1, SAMRE only), shop (3, second_hand_shop, vk2); vk1 and vk2 belong to vk in
Upplands Väsby. P1–P6 live in Sigtuna; odd ones are SAMRE, even ones MIA; all prefer sewing, then
furniture_renovation, and wait since 2026-01-01.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from service.db import models as db
from service.db.engine import transaction

API = "/api/v1"
ON = "2026-11-23"  # 2026-01-01 is 326 days before
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def place(service: Any, participant_id: str, slot_id: str) -> int:
    """A placement through the API, as a coordinator takes a seat."""
    response = service.client.post(
        f"{API}/placements",
        json={"participant_id": participant_id, "slot_id": slot_id, "start_date": "2026-03-02"},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def placed(service: Any) -> Any:
    """P1 in furn, P2 in shop, P3 and P5 in garden; P4 and P6 wait, P6 since 2026-11-13 (10 days) for the shop."""
    place(service, "P1", "furn")
    place(service, "P2", "shop")
    place(service, "P3", "garden")
    place(service, "P5", "garden")
    with transaction(service.factory) as session:
        p6 = session.get(db.Participant, ("default", "P6"))
        assert p6 is not None
        p6.waiting_since = date(2026, 11, 13)
        p6.preferences = ["second_hand_shop"]
    return service


def utilisation(service: Any, by: str, **params: str) -> Any:
    return service.client.get(
        f"{API}/reports/utilisation", params={"by": by, "on": ON, **params}, headers=service.auth("coordinator")
    )


def rows(service: Any, by: str) -> dict[str | None, tuple[Any, ...]]:
    response = utilisation(service, by)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == by and body["on"] == ON
    assert body["totals"] == TOTALS
    return {
        r["key"]: (r["seats"], r["taken"], r["free"], r["utilisation_pct"], r["waiting"], r["median_waiting_days"])
        for r in body["rows"]
    }


# Waiting: P4 (MIA, 326 days, wants sewing and furniture_renovation) and P6 (MIA, 10 days, wants second_hand_shop).
TOTALS = {"seats": 10, "taken": 4, "free": 6, "utilisation_pct": 40.0, "waiting": 2, "median_waiting_days": 168.0}


def test_utilisation_by_slot(placed):
    assert rows(placed, "slot") == {
        "furn": (2, 1, 1, 50.0, 1, 326.0),  # P4 wants furniture_renovation
        "garden": (4, 2, 2, 50.0, 0, None),  # nobody waiting wants allotment_garden
        "sew": (1, 0, 1, 0.0, 1, 326.0),  # P4 wants sewing
        "shop": (3, 1, 2, 33.3, 1, 10.0),  # P6 wants second_hand_shop
    }


def test_utilisation_by_site(placed):
    assert rows(placed, "site") == {
        "hantverk": (2, 1, 1, 50.0, 1, 326.0),
        "vk1": (5, 2, 3, 40.0, 1, 326.0),  # sew + garden; P4 counted once
        "vk2": (3, 1, 2, 33.3, 1, 10.0),
    }


def test_utilisation_by_enterprise(placed):
    assert rows(placed, "enterprise") == {
        "vioni": (2, 1, 1, 50.0, 1, 326.0),
        "vk": (8, 3, 5, 37.5, 2, 168.0),  # median of 326 and 10
    }
    labels = [r["label"] for r in utilisation(placed, "enterprise").json()["rows"]]
    assert labels == ["VioNi", "Värmekällan"]


def test_utilisation_by_programme(placed):
    assert rows(placed, "programme") == {
        "MIA": (0, 0, 0, 0.0, 2, 168.0),  # no seats procured for MIA; both waiting people are MIA
        "SAMRE": (4, 2, 2, 50.0, 0, None),  # garden is SAMRE's; P3 and P5 hold it
        None: (6, 2, 4, 33.3, 0, None),  # furn, sew and shop are open to any programme; P1 and P2 hold two
    }


def test_utilisation_by_municipality(placed):
    assert rows(placed, "municipality") == {
        "Sigtuna": (2, 1, 1, 50.0, 2, 168.0),  # hantverk's seats; everybody lives in Sigtuna
        "Upplands Väsby": (8, 3, 5, 37.5, 0, None),
    }


def test_utilisation_without_placements_or_waiting_dates(service):
    with transaction(service.factory) as session:
        for person in session.scalars(select(db.Participant)):
            person.waiting_since = None
    response = service.client.get(
        f"{API}/reports/utilisation", params={"by": "slot"}, headers=service.auth("coordinator")
    )
    body = response.json()
    assert body["on"] == date.today().isoformat()
    assert body["totals"] == {
        "seats": 10,
        "taken": 0,
        "free": 10,
        "utilisation_pct": 0.0,
        "waiting": 6,
        "median_waiting_days": None,
    }


def test_a_slot_with_no_seats_is_zero_percent(service):
    with transaction(service.factory) as session:
        slot = session.get(db.Slot, ("default", "sew"))
        assert slot is not None
        slot.seats = 0
    by_slot = {r["key"]: r for r in utilisation(service, "slot").json()["rows"]}
    assert (by_slot["sew"]["seats"], by_slot["sew"]["free"], by_slot["sew"]["utilisation_pct"]) == (0, 0, 0.0)


def test_utilisation_as_csv_for_swedish_excel(placed):
    response = utilisation(placed, "site", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="utilisation-by-site-{ON}.csv"'
    assert response.content.startswith(b"\xef\xbb\xbfsite_id;label;")  # a byte-order mark, then `;`
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert table == [
        [
            "site_id", "label", "enterprise_id", "enterprise_name",
            "seats", "taken", "free", "utilisation_pct", "waiting", "median_waiting_days",
        ],
        ["hantverk", "Sigtuna Hantverkshus", "vioni", "VioNi", "2", "1", "1", "50", "1", "326"],
        ["vk1", "Värmekällan", "vk", "Värmekällan", "5", "2", "3", "40", "1", "326"],
        ["vk2", "Värmekällan Second hand", "vk", "Värmekällan", "3", "1", "2", "33,3", "1", "10"],
    ]  # fmt: skip


def test_utilisation_as_csv_with_commas(placed):
    response = utilisation(placed, "slot", format="csv", dialect="comma")
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert [(r["slot_id"], r["activity"], r["site_name"], r["utilisation_pct"]) for r in table] == [
        ("furn", "furniture_renovation", "Sigtuna Hantverkshus", "50"),
        ("garden", "allotment_garden", "Värmekällan", "50"),
        ("sew", "sewing", "Värmekällan", "0"),
        ("shop", "second_hand_shop", "Värmekällan Second hand", "33.3"),
    ]
    assert utilisation(placed, "slot", format="csv", dialect="tab").status_code == 422


def test_utilisation_as_xlsx_for_people(placed):
    response = utilisation(placed, "slot", format="xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Beläggning per aktivitet"
    assert sheet["A1"].value == f"Beläggning per aktivitet · Datum: {ON}"
    headings = [c.value for c in sheet[2]]
    assert headings == [
        "Aktivitetskod", "Benämning", "Aktivitet", "Platskod", "Plats", "Verksamhetskod", "Verksamhet",
        "Platser totalt", "Tagna", "Lediga", "Beläggning", "Väntande", "Väntetid, median (dagar)",
    ]  # fmt: skip
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert values[3] == [
        "shop", "second_hand_shop at Värmekällan Second hand", "second_hand_shop", "vk2", "Värmekällan Second hand",
        "vk", "Värmekällan", 3, 1, 2, pytest.approx(0.333), 1, 10,
    ]  # fmt: skip
    totals = values[-1]
    assert len(values) == 5 and totals[0] == "Totalt" and totals[1:7] == [None] * 6
    assert totals[7:] == [10, 4, 6, pytest.approx(0.4), 2, 168]  # TOTALS of the JSON
    assert all(c.font.bold for c in sheet[7])
    formats = {headings[i]: sheet.cell(row=3, column=i + 1).number_format for i in range(len(headings))}
    assert (formats["Platser totalt"], formats["Beläggning"], formats["Väntetid, median (dagar)"]) == (
        "0", "0.0%", "0.0",
    )  # fmt: skip
    widths = {headings[i]: sheet.column_dimensions[chr(ord("A") + i)].width for i in range(len(headings))}
    assert widths["Benämning"] >= len("second_hand_shop at Värmekällan Second hand")  # fitted to the longest
    assert widths["Tagna"] >= len("Tagna") and widths["Tagna"] < widths["Benämning"]


def test_utilisation_as_xlsx_by_programme(placed):
    sheet = load_workbook(io.BytesIO(utilisation(placed, "programme", format="xlsx").content)).active
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        ("Insats", "Benämning", "Platser totalt", "Tagna", "Lediga", "Beläggning", "Väntande",
         "Väntetid, median (dagar)"),
        ("MIA", "MIA", 0, 0, 0, 0, 2, 168),
        ("SAMRE", "SAMRE", 4, 2, 2, 0.5, 0, None),
        (None, "open to any programme", 6, 2, 4, pytest.approx(0.333), 0, None),
        ("Totalt", None, 10, 4, 6, 0.4, 2, 168),
    ]  # fmt: skip


def test_an_unknown_grouping_or_format_is_422(service):
    for params in ({"by": "country"}, {"by": "site", "format": "pdf"}):
        response = service.client.get(f"{API}/reports/utilisation", params=params, headers=service.auth("coordinator"))
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")


def test_reports_see_only_the_own_association(placed):
    response = placed.client.get(
        f"{API}/reports/utilisation", params={"by": "enterprise", "on": ON}, headers=placed.auth("foreign_coordinator")
    )
    body = response.json()
    assert [r["key"] for r in body["rows"]] == ["far"]
    assert body["totals"] == {
        "seats": 0,
        "taken": 0,
        "free": 0,
        "utilisation_pct": 0.0,
        "waiting": 0,
        "median_waiting_days": None,
    }
    response = placed.client.get(f"{API}/reports/outcomes", headers=placed.auth("foreign_coordinator"))
    assert response.json()["ended"] == 0


# --- outcomes ----------------------------------------------------------------------------------------------------


def end(service: Any, placement_id: int, reason: str) -> None:
    if reason == "transferred":  # only an applied plan ends a placement so; users cannot
        with transaction(service.factory) as session:
            placement = session.get(db.Placement, placement_id)
            placement.end_date, placement.end_reason = date(2026, 9, 30), db.EndReason.transferred
        return
    response = service.client.patch(
        f"{API}/placements/{placement_id}",
        json={"end_reason": reason, "end_date": "2026-09-30"},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 200, response.text


def test_outcomes_before_anything_ended(service):
    body = service.client.get(f"{API}/reports/outcomes", headers=service.auth("coordinator")).json()
    assert (body["ended"], body["towards_work_or_studies"], body["share_pct"], body["rows"]) == (0, 0, None, [])
    assert body["summary"] == "no placement has ended yet"


def test_outcomes_count_ended_placements_by_reason_and_programme(service):
    ids = {
        pid: place(service, pid, slot)
        for pid, slot in (("P1", "furn"), ("P2", "shop"), ("P3", "garden"), ("P4", "sew"), ("P5", "garden"))
    }
    end(service, ids["P1"], "work")  # SAMRE
    end(service, ids["P3"], "studies")  # SAMRE
    end(service, ids["P5"], "dropped_out")  # SAMRE
    end(service, ids["P4"], "moved")  # MIA
    end(service, ids["P2"], "transferred")  # MIA: a plan move, not an outcome
    place(service, "P1", "sew")  # active again: not ended, not counted

    body = service.client.get(f"{API}/reports/outcomes", headers=service.auth("coordinator")).json()
    assert body["programme"] is None
    assert body["rows"] == [
        {"programme": "MIA", "end_reason": "moved", "count": 1},
        {"programme": "SAMRE", "end_reason": "dropped_out", "count": 1},
        {"programme": "SAMRE", "end_reason": "studies", "count": 1},
        {"programme": "SAMRE", "end_reason": "work", "count": 1},
    ]
    assert body["by_reason"] == {"dropped_out": 1, "moved": 1, "studies": 1, "work": 1}
    assert (body["ended"], body["towards_work_or_studies"], body["share_pct"]) == (4, 2, 50.0)
    assert body["summary"] == "2 of 4 ended towards work or studies (50 %)"
    assert body["transferred_excluded"] == 1
    assert body["programmes"] == [
        {
            "programme": "MIA",
            "ended": 1,
            "towards_work_or_studies": 0,
            "share_pct": 0.0,
            "summary": "0 of 1 ended towards work or studies (0 %)",
        },
        {
            "programme": "SAMRE",
            "ended": 3,
            "towards_work_or_studies": 2,
            "share_pct": 66.7,
            "summary": "2 of 3 ended towards work or studies (67 %)",
        },
    ]

    samre = service.client.get(
        f"{API}/reports/outcomes", params={"programme": "SAMRE"}, headers=service.auth("coordinator")
    ).json()
    assert samre["programme"] == "SAMRE"
    assert (samre["ended"], samre["summary"], samre["transferred_excluded"]) == (
        3,
        "2 of 3 ended towards work or studies (67 %)",
        0,
    )
    assert [r["end_reason"] for r in samre["rows"]] == ["dropped_out", "studies", "work"]


def _ended_four(service: Any) -> None:
    """P1 work and P3 studies (SAMRE) on 2026-09-30, P4 moved (MIA) on 2026-10-15, P5 dropped out (SAMRE) 2026-11-20."""
    for pid, slot, reason, day in (
        ("P1", "furn", "work", "2026-09-30"),
        ("P3", "garden", "studies", "2026-09-30"),
        ("P4", "sew", "moved", "2026-10-15"),
        ("P5", "garden", "dropped_out", "2026-11-20"),
    ):
        placement = place(service, pid, slot)
        response = service.client.patch(
            f"{API}/placements/{placement}",
            json={"end_reason": reason, "end_date": day},
            headers=service.auth("coordinator"),
        )
        assert response.status_code == 200, response.text


def outcomes(service: Any, **params: str) -> Any:
    return service.client.get(f"{API}/reports/outcomes", params=params, headers=service.auth("coordinator"))


def test_outcomes_in_a_period(service):
    _ended_four(service)
    body = outcomes(service, **{"from": "2026-10-01", "to": "2026-11-20"}).json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-11-20")
    assert body["by_reason"] == {"dropped_out": 1, "moved": 1}
    assert body["summary"] == "0 of 2 ended towards work or studies (0 %)"
    assert outcomes(service, to="2026-09-30").json()["summary"] == "2 of 2 ended towards work or studies (100 %)"
    assert outcomes(service, **{"from": "2026-09-30"}).json()["ended"] == 4  # both days included
    whole = outcomes(service).json()
    assert (whole["from"], whole["to"], whole["ended"]) == (None, None, 4)
    response = outcomes(service, **{"from": "2026-12-01", "to": "2026-11-01"})
    assert response.status_code == 422 and response.json()["field"] == "from"


def test_outcomes_as_csv_one_row_per_programme_with_every_end_reason(service):
    _ended_four(service)
    response = outcomes(service, format="csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="outcomes.csv"'
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    reasons = [r.value for r in db.EndReason if r is not db.EndReason.transferred]  # a new reason is a new column
    assert list(table[0]) == ["programme", *reasons, "ended", "towards_work_or_studies", "share_pct"]
    by_programme = {r["programme"]: r for r in table}
    assert {k: v for k, v in by_programme["SAMRE"].items() if v not in ("0", "")} == {
        "programme": "SAMRE", "work": "1", "studies": "1", "dropped_out": "1", "ended": "3",
        "towards_work_or_studies": "2", "share_pct": "66,7",
    }  # fmt: skip
    assert (by_programme["MIA"]["moved"], by_programme["MIA"]["share_pct"]) == ("1", "0")
    samre = outcomes(service, format="csv", dialect="comma", programme="SAMRE", to="2026-10-31")
    assert samre.headers["content-disposition"] == 'attachment; filename="outcomes-SAMRE-2026-10-31.csv"'
    rows = list(csv.DictReader(io.StringIO(samre.content.decode("utf-8"))))
    assert [(r["programme"], r["ended"], r["share_pct"]) for r in rows] == [("SAMRE", "2", "100")]


def test_outcomes_as_xlsx(service):
    _ended_four(service)
    response = outcomes(service, format="xlsx", **{"from": "2026-09-01", "to": "2026-11-30"})
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == (
        f"Utfall per insats · Datum: {date.today().isoformat()} · Avslutade: 2026-09-01–2026-11-30 · "
        "Sammanfattning: 2 of 4 ended towards work or studies (50 %)"
    )
    headings = [c.value for c in sheet[2]]
    assert headings[:6] == ["Insats", "Arbete", "Studier", "Annan insats", "Flyttat", "Avbrutit"]
    assert headings[-3:] == ["Avslutade", "Till arbete eller studier", "Andel till arbete eller studier"]
    assert sheet.freeze_panes == "A3" and sheet["A2"].font.bold
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert [r[0] for r in rows] == ["MIA", "SAMRE", "Totalt"]
    assert rows[-1][-3:] == [4, 2, 0.5] and sheet.cell(row=5, column=1).font.bold
    assert sheet.cell(row=4, column=len(headings)).number_format == "0.0%"
    assert rows[1][-1] == pytest.approx(0.667)


def test_an_end_reason_the_enum_does_not_know_yet_is_counted_under_its_name(service):
    """A database migrated by a newer version may hold a reason this code's enum lacks: counted, not a 500."""
    _ended_four(service)
    with transaction(service.factory) as session:
        placement = db.Placement(
            association_id="default", participant_id="P6", slot_id="shop", start_date=date(2026, 3, 2)
        )
        session.add(placement)
        session.flush()
        session.execute(
            text("UPDATE placements SET end_date = '2026-11-01', end_reason = 'emigrated' WHERE id = :id"),
            {"id": placement.id},
        )
    body = outcomes(service).json()
    assert body["by_reason"]["emigrated"] == 1
    assert body["summary"] == "2 of 5 ended towards work or studies (40 %)"
    table = list(csv.reader(io.StringIO(outcomes(service, format="csv").content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][-4:] == ["emigrated", "ended", "towards_work_or_studies", "share_pct"]
    sheet = load_workbook(io.BytesIO(outcomes(service, format="xlsx").content)).active
    assert [c.value for c in sheet[2]][-4] == "emigrated"  # no Swedish heading: its name


# --- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coach", "enterprise_manager"])
@pytest.mark.parametrize(
    "path",
    [
        "/reports/utilisation",
        "/reports/utilisation?format=csv",
        "/reports/utilisation?format=xlsx",
        "/reports/outcomes",
        "/reports/outcomes?format=csv",
        "/reports/outcomes?format=xlsx",
        "/reports/capacity-value?format=csv",
        "/reports/capacity-value?format=xlsx",
        "/reports/fairness?format=csv",
        "/reports/fairness?format=xlsx&floor=0.5",
    ],
)
def test_only_coordinators_see_reports(service, who, path):
    response = service.client.get(f"{API}{path}", headers=service.auth(who))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
