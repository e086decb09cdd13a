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
from sqlalchemy import select

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
        p6 = session.get(db.Participant, "P6")
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
        slot = session.get(db.Slot, "sew")
        assert slot is not None
        slot.seats = 0
    by_slot = {r["key"]: r for r in utilisation(service, "slot").json()["rows"]}
    assert (by_slot["sew"]["seats"], by_slot["sew"]["free"], by_slot["sew"]["utilisation_pct"]) == (0, 0, 0.0)


def test_utilisation_as_csv(placed):
    response = utilisation(placed, "site", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="utilisation-by-site-{ON}.csv"'
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table == [
        ["site_id", "label", "seats", "taken", "free", "utilisation_pct", "waiting", "median_waiting_days"],
        ["hantverk", "Sigtuna Hantverkshus", "2", "1", "1", "50.0", "1", "326.0"],
        ["vk1", "Värmekällan", "5", "2", "3", "40.0", "1", "326.0"],
        ["vk2", "Värmekällan Second hand", "3", "1", "2", "33.3", "1", "10.0"],
    ]


def test_utilisation_as_xlsx(placed):
    response = utilisation(placed, "programme", format="xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("programme", "label", "seats", "taken", "free", "utilisation_pct", "waiting", "median_waiting_days"),
        ("MIA", "MIA", 0, 0, 0, 0, 2, 168),
        ("SAMRE", "SAMRE", 4, 2, 2, 50, 0, None),
        (None, "open to any programme", 6, 2, 4, 33.3, 0, None),
    ]


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


# --- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coach", "enterprise_manager"])
@pytest.mark.parametrize(
    "path",
    [
        "/reports/utilisation",
        "/reports/utilisation?format=csv",
        "/reports/utilisation?format=xlsx",
        "/reports/outcomes",
    ],
)
def test_only_coordinators_see_reports(service, who, path):
    response = service.client.get(f"{API}{path}", headers=service.auth(who))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
