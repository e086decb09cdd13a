"""The Swedish pages without a browser: sign-in cookie and CSRF, what each role may open, the audit rows, and
the stale slot form (the browser tests in tests/web cover the same paths in Chromium)."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
from sqlalchemy import select

import matcher
from service.db import models as db
from service.web import plan_reasons, texts
from service.web.plan_reasons import ReviewFacts
from tests.service.conftest import Service
from tests.service.plans.test_plans import wait_for


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


def _login(service: Service, who: str) -> None:
    client = service.client
    client.cookies.clear()
    form = client.get("/logga-in")
    response = client.post(
        "/logga-in", data={"token": service.tokens[who], "csrf_token": _csrf(form.text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def test_login_sets_an_httponly_strict_cookie_and_refuses_a_missing_csrf_token(service: Service) -> None:
    client = service.client
    form = client.get("/logga-in")
    assert form.status_code == 200 and '<html lang="sv">' in form.text and "Logga in" in form.text
    refused = client.post("/logga-in", data={"token": service.tokens["coach"], "csrf_token": "wrong"})
    assert refused.status_code == 400 and "Formuläret var för gammalt" in refused.text
    wrong = client.post("/logga-in", data={"token": "plc_nope", "csrf_token": _csrf(form.text)})
    assert wrong.status_code == 401 and "Nyckeln är okänd" in wrong.text
    ok = client.post(
        "/logga-in", data={"token": service.tokens["coach"], "csrf_token": _csrf(form.text)}, follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/deltagare"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("placement_session="))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # served over http here; Secure is set over https


def test_pages_without_a_session_send_to_the_login_page(service: Service) -> None:
    for path in ("/", "/deltagare", "/deltagare/P1", "/platser", "/oversikt", "/planer", "/import", "/logg"):
        response = service.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/logga-in", path


def test_a_coach_sees_only_their_participants_and_gets_a_swedish_404_for_another_coachs(service: Service) -> None:
    _login(service, "coach")
    page = service.client.get("/deltagare")
    assert [f"P{i}" in page.text for i in range(1, 7)] == [True, True, True, False, False, False]
    other = service.client.get("/deltagare/P4")
    assert (
        other.status_code == 404
        and "inte din deltagare" in other.text
        and "application/json" not in other.headers["content-type"]
    )
    for path in ("/oversikt", "/planer", "/import", "/logg", "/platser"):
        assert service.client.get(path).status_code == 404, path


def test_a_manager_sees_only_their_enterprises_slots_and_no_participants(service: Service) -> None:
    _login(service, "enterprise_manager")
    page = service.client.get("/platser")
    assert page.status_code == 200
    assert "sömnad" in page.text and "secondhandbutik" in page.text and "möbelrenovering" not in page.text
    assert service.client.get("/platser/furn").status_code == 404
    assert service.client.get("/deltagare").status_code == 404
    assert service.client.get("/deltagare/P1").status_code == 404


def test_a_participants_page_writes_the_audit_row_the_api_writes(service: Service) -> None:
    _login(service, "coach")
    assert service.client.get("/deltagare/P1").status_code == 200
    with service.factory() as session:
        entries = session.scalars(select(db.AuditEntry).where(db.AuditEntry.path == "/deltagare/P1")).all()
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.action, entry.method, entry.user_name) == ("read", "GET", "coach")
        assert [p.participant_id for p in entry.participants] == ["P1"]


def test_a_coach_places_and_ends_with_csrf_and_a_form_without_it_changes_nothing(service: Service) -> None:
    _login(service, "coach")
    page = service.client.get("/deltagare/P1")
    assert "Passar:" in page.text
    forged = service.client.post("/deltagare/P1/placera", data={"slot_id": "sew", "start_date": "2026-11-23"})
    assert forged.status_code == 403
    slot = re.search(r'name="slot_id" value="([^"]+)"', page.text)
    assert slot
    placed = service.client.post(
        "/deltagare/P1/placera",
        data={"slot_id": slot.group(1), "start_date": "2026-11-23", "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert placed.status_code == 303
    with service.factory() as session:
        active = session.scalars(
            select(db.Placement).where(db.Placement.participant_id == "P1", db.Placement.end_date.is_(None))
        ).all()
        assert [p.slot_id for p in active] == [slot.group(1)]
        placement_id = active[0].id
    bad_date = service.client.post(
        "/deltagare/P1/avsluta",
        data={"placement_id": placement_id, "end_reason": "work", "end_date": "igår", "csrf_token": _csrf(page.text)},
    )
    assert bad_date.status_code == 422 and "Ange slutdatum" in bad_date.text
    ended = service.client.post(
        "/deltagare/P1/avsluta",
        data={
            "placement_id": placement_id,
            "end_reason": "work",
            "end_date": "2026-11-30",
            "csrf_token": _csrf(page.text),
        },
        follow_redirects=False,
    )
    assert ended.status_code == 303


def test_a_stale_slot_form_shows_what_changed_and_overwrites_nothing(service: Service) -> None:
    _login(service, "enterprise_manager")
    form = service.client.get("/platser/sew").text
    version = re.search(r'name="version" value="([^"]+)"', form)
    assert version
    fields = {
        "csrf_token": _csrf(form),
        "version": version.group(1).replace("&#34;", '"'),
        "min_hours": "5",
        "days": ["mon", "thu"],
    }
    first = service.client.post(
        "/platser/sew", data={**fields, "seats": "2", "max_hours": "30"}, follow_redirects=False
    )
    assert first.status_code == 303
    stale = service.client.post("/platser/sew", data={**fields, "seats": "5", "max_hours": "30"})
    assert stale.status_code == 412 and "Någon annan har ändrat platsen" in stale.text
    with service.factory() as session:
        assert session.get(db.Slot, ("default", "sew")).seats == 2  # type: ignore[union-attr]
    invalid = service.client.post("/platser/sew", data={**fields, "seats": "två", "max_hours": "30"})
    assert invalid.status_code == 422 and 'id="seats-error"' in invalid.text and "Ange ett heltal." in invalid.text


def test_unknown_pages_and_bad_forms_answer_a_swedish_page_and_the_api_keeps_problem_details(service: Service) -> None:
    _login(service, "coach")
    page = service.client.get("/finns-inte")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "Sidan finns inte" in page.text
    bad = service.client.post("/deltagare/P1/avsluta", data={"placement_id": "x"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    api = service.client.get("/api/v1/finns-inte")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")


def test_the_api_docs_need_no_cdn(service: Service) -> None:
    docs = service.client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
        assert service.client.get(asset).status_code == 200, asset


def test_the_overview_filters_by_municipality_and_programme(service: Service) -> None:
    _login(service, "coordinator")
    everything = service.client.get("/oversikt")
    assert everything.status_code == 200 and "VioNi" in everything.text and "Värmekällan" in everything.text
    vasby = service.client.get("/oversikt", params={"kommun": "Upplands Väsby"})
    table = vasby.text.split("<h2>Tabell</h2>")[1]
    assert "Värmekällan" in table and "VioNi" not in table
    # Site vk1 has 'sew' (1 seat, open to all) and 'garden' (4 seats, reserved for SAMRE): MIA sees 1 of its 5.
    all_sites = service.client.get("/oversikt", params={"by": "site"}).text.split("<h2>Tabell")[1]
    mia_sites = service.client.get("/oversikt", params={"insats": "MIA", "by": "site"}).text.split("<h2>Tabell")[1]
    assert "<td>Värmekällan</td><td>5</td>" in all_sites
    assert "<td>Värmekällan</td><td>1</td>" in mia_sites
    workbook = service.client.get("/oversikt/belaggning.xlsx", params={"kommun": "Sigtuna"})
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"


def test_a_plans_review_says_per_person_why_including_why_someone_stays_unplaced(service: Service) -> None:
    with service.factory() as session:  # P6 may travel 1 minute: no slot is in reach
        session.get(db.Participant, ("default", "P6")).max_travel_minutes = 1  # type: ignore[union-attr]
        session.commit()
    created = service.client.post(
        "/api/v1/plans", json={"date": "2026-11-23", "time_limit_s": 5}, headers=service.auth("coordinator")
    )
    assert created.status_code == 202, created.text
    plan_id = created.json()["id"]
    body = wait_for(service.client, service.auth("coordinator"), plan_id)
    assert body["status"] == "done", body
    _login(service, "coordinator")
    page = service.client.get(f"/planer/{plan_id}").text
    rows = dict(re.findall(r'<td data-why="(P\d)">([^<]*)</td>', page))
    assert set(rows) == {f"P{i}" for i in range(1, 7)}, page
    assert re.fullmatch(r"Oplacerad: ingen plats inom 1 min \(den närmaste är \d+ min bort\)", rows["P6"]), rows
    for pid, text in rows.items():
        if pid != "P6" and text.startswith("Ny plats: "):
            assert "min resväg" in text and ("handsval" in text or "inte bland önskemålen" in text), text
    assert any(t.startswith("Ny plats: ") for t in rows.values()), rows


def test_plan_reasons_name_what_a_move_frees_and_for_whom() -> None:
    facts = ReviewFacts(
        slot_names={"a": "sömnad – Väven, VioNi", "b": "kafé – Torget, VioNi"},
        slot_activities={"a": "sewing", "b": "cafe"},
        site_names={"s1": "Väven", "s2": "Torget"},
        preferences={"P1": ["cafe", "sewing"], "P2": ["sewing"]},
    )
    seat = {"freed_by": "P1", "kind": "seat", "slot_id": "a", "site_id": "s1", "hours": 2.5, "text": ""}
    hours = {"freed_by": "P1", "kind": "supervision", "slot_id": None, "site_id": "s1", "hours": 2.5, "text": ""}
    base = {"pinned": False, "kept_despite": [], "needs": [], "freed_for": [], "travel_minutes": 25}
    proposals = [
        {
            **base,
            "participant_id": "P1",
            "change": "moves",
            "current_slot_id": "a",
            "slot_id": "b",
            "freed_for": ["P2"],
        },
        {**base, "participant_id": "P2", "change": "new", "current_slot_id": None, "slot_id": "a", "needs": [seat]},
        {**base, "participant_id": "P3", "change": "new", "current_slot_id": None, "slot_id": "a", "needs": [hours]},
        {**base, "participant_id": "P4", "change": "unchanged", "current_slot_id": "b", "slot_id": "b"},
        {**base, "participant_id": "P5", "change": "still_waiting", "current_slot_id": None, "slot_id": None},
    ]
    near = matcher.ExcludedSlot("a", "s1", "e", "sewing", 1, (matcher.RuleFailure("seats_free", "no free seat"),))
    facts.unplaced["P5"] = matcher.Suggestions("P5", (), (near,), ())
    why = plan_reasons.reasons(proposals, facts)
    assert why["P1"] == (
        "Flyttas från sömnad – Väven, VioNi till kafé – Torget, VioNi: frigör en plats för P2 och "
        "2,5 handledartimmar vid Väven för P3"
    )
    assert (
        why["P2"]
        == "Ny plats: sömnad – Väven, VioNi, förstahandsval, 25 min resväg; förutsätter att P1 flyttas eller lämnar"
    )
    assert why["P4"] == "Behåller kafé – Torget, VioNi"
    assert why["P5"] == "Oplacerad: sömnad – : inga lediga platser"


def test_refusals_of_the_service_are_worded_in_swedish_next_to_their_field() -> None:
    assert texts.problem(409, "", {"reason": "seats_taken", "placements": [1, 2, 3, 4]}) == (
        "seats",
        "Platserna kan inte bli färre än de 4 som är tagna; samordnaren kan avsluta eller flytta placeringarna.",
    )
    field, text = texts.problem(409, "", {"reason": "supervision_needed", "supervisor_hours_needed": 7.5})
    assert field == "supervision_ratio" and "7,5 handledartimmar" in text
    field, text = texts.problem(409, "", {"rules": [{"rule": "travel_ok", "message": "travel 70 min > 60 min"}]})
    assert (field, text) == ("slot_id", "Platsen passar inte personen: resan tar 70 min, mer än 60 min.")
    assert texts.problem(409, "", {"reason": "seats_free"})[1].startswith("Platsen är full")
    assert texts.problem(412, "", {})[0] == "version"


def test_a_refused_slot_change_and_a_refused_end_say_why_in_swedish_next_to_the_field(service: Service) -> None:
    with service.factory() as session:  # P1 holds the one seat of 'sew'; shop is then lowered below what it holds
        session.add(
            db.Placement(association_id="default", participant_id="P1", slot_id="sew", start_date=date(2026, 11, 2))
        )
        session.add(
            db.Placement(association_id="default", participant_id="P2", slot_id="shop", start_date=date(2026, 11, 2))
        )
        session.add(
            db.Placement(association_id="default", participant_id="P3", slot_id="shop", start_date=date(2026, 11, 2))
        )
        session.commit()
        placement_id = session.scalars(select(db.Placement.id).where(db.Placement.participant_id == "P1")).one()
    _login(service, "enterprise_manager")
    form = service.client.get("/platser/shop").text
    version = re.search(r'name="version" value="([^"]+)"', form)
    assert version
    fields = {"csrf_token": _csrf(form), "version": version.group(1).replace("&#34;", '"'), "days": ["mon"]}
    fields |= {"min_hours": "5", "max_hours": "30"}
    refused = service.client.post("/platser/shop", data={**fields, "seats": "1"})
    assert refused.status_code == 409
    error = re.search(r'<p id="seats-error" class="error">([^<]*)</p>', refused.text)
    assert error and error.group(1) == (
        "Platserna kan inte bli färre än de 2 som är tagna; samordnaren kan avsluta eller flytta placeringarna."
    )
    _login(service, "coach")
    page = service.client.get("/deltagare/P1").text
    early = service.client.post(
        "/deltagare/P1/avsluta",
        data={"placement_id": placement_id, "end_reason": "work", "end_date": "2026-10-01", "csrf_token": _csrf(page)},
    )
    assert early.status_code == 422
    assert 'id="end_date-error" class="error">Slutdatumet ligger före placeringens startdatum.' in early.text


def test_the_outcomes_workbook_downloads_for_the_chosen_days_and_a_bad_range_is_shown_by_its_field(
    service: Service,
) -> None:
    with service.factory() as session:
        for pid, ended in (("P1", date(2026, 3, 10)), ("P2", date(2026, 6, 10))):
            session.add(
                db.Placement(
                    association_id="default",
                    participant_id=pid,
                    slot_id="shop",
                    start_date=date(2026, 2, 1),
                    end_date=ended,
                    end_reason=db.EndReason.work,
                )
            )
        session.commit()
    _login(service, "coordinator")
    assert 'action="/oversikt/utfall.xlsx"' in service.client.get("/oversikt").text
    workbook = service.client.get("/oversikt/utfall.xlsx", params={"fran": "2026-03-01", "till": "2026-03-31"})
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert 'filename="utfall-2026-03-01-2026-03-31.xlsx"' in workbook.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "SAMRE" in cells and "MIA" not in cells  # P1 (SAMRE) ended in March, P2 (MIA) in June
    everything = service.client.get("/oversikt/utfall.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(everything.content)).worksheets[0]
    assert {"SAMRE", "MIA"} <= {str(c) for row in sheet.iter_rows(values_only=True) for c in row}
    backwards = service.client.get("/oversikt/utfall.xlsx", params={"fran": "2026-04-01", "till": "2026-03-01"})
    assert backwards.status_code == 422 and 'id="till-error"' in backwards.text
    assert "Slutdatumet ligger före startdatumet." in backwards.text


def test_the_audit_log_filters_by_participant_user_and_days(service: Service) -> None:
    _login(service, "coach")
    service.client.get("/deltagare/P1")
    service.client.get("/deltagare/P2")
    _login(service, "coordinator")
    service.client.get("/deltagare/P3")
    coach = str(service.user_ids["coach"])
    by_coach = service.client.get("/logg", params={"anvandare": coach}).text
    assert "2 poster." in by_coach and "/deltagare/P3" not in by_coach and "/deltagare/P1" in by_coach
    one = service.client.get("/logg", params={"anvandare": coach, "deltagare": "P2"}).text
    assert "1 poster." in one and "/deltagare/P2" in one
    today = date.today().isoformat()
    assert "0 poster." in service.client.get("/logg", params={"till": "2020-01-01"}).text
    assert "/deltagare/P3" in service.client.get("/logg", params={"fran": today, "till": today}).text
    bad = service.client.get("/logg", params={"fran": "igår"})
    assert bad.status_code == 422 and 'id="fran-error"' in bad.text


def test_placing_on_a_full_slot_says_so_in_swedish(service: Service) -> None:
    with service.factory() as session:  # P5 holds the one seat of 'sew'
        session.add(
            db.Placement(association_id="default", participant_id="P5", slot_id="sew", start_date=date(2026, 11, 2))
        )
        session.commit()
    _login(service, "coach")
    page = service.client.get("/deltagare/P1").text
    full = service.client.post(
        "/deltagare/P1/placera", data={"slot_id": "sew", "start_date": "2026-11-23", "csrf_token": _csrf(page)}
    )
    assert full.status_code == 409 and 'role="alert"' in full.text
    assert "Placeringen gick inte. Platsen är full; välj en annan plats" in full.text
