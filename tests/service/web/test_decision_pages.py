"""The decision support on the Swedish pages, without a browser: "Vad skulle göra att det passar?" on a participant's
page (coach and coordinator), the coordinator's capacity-value and fairness pages, and the dated-change preview on
the slot page of an enterprise manager; each role's refusals."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.service.conftest import Service
from tests.service.web.test_pages import _csrf, _login


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_coach_sees_what_would_make_a_wished_slot_fit_in_swedish(service: Service) -> None:
    _login(service, "coach")
    page = service.client.get("/deltagare/P2")
    assert page.status_code == 200 and "Vad skulle göra att det passar?" in page.text
    assert '<option value="garden"' in page.text  # every slot can be chosen
    # P2 is MIA; the garden is reserved for SAMRE: one change, enough alone.
    answer = service.client.get("/deltagare/P2?vad_om=garden")
    assert answer.status_code == 200
    text = _text(answer.text)
    assert "insatsen får platsen" in text and "Platserna är reserverade för en annan insats" in text
    assert "platsen öppen även för personens insats" in text and "Den här ändringen räcker ensam." in text
    assert '<option value="garden" selected>' in answer.text


def test_a_full_slot_asks_for_one_more_seat_and_a_slot_that_fits_says_so(service: Service) -> None:
    _login(service, "coordinator")
    page = service.client.get("/deltagare/P1")
    token = _csrf(page.text)
    placed = service.client.post(
        "/deltagare/P1/placera",
        data={"slot_id": "sew", "start_date": date.today().isoformat(), "csrf_token": token},
        follow_redirects=False,
    )
    assert placed.status_code == 303, placed.text
    text = _text(service.client.get("/deltagare/P3?vad_om=sew").text)
    assert "Inga lediga platser" in text and "1 plats till" in text
    assert "Platsen passar redan" in _text(service.client.get("/deltagare/P1?vad_om=sew").text)


def test_an_unknown_slot_is_named_by_the_choice_and_another_coachs_person_is_404(service: Service) -> None:
    _login(service, "coach")
    page = service.client.get("/deltagare/P2?vad_om=nowhere")
    assert page.status_code == 200 and 'id="vad_om-error"' in page.text and "Välj en plats i listan." in page.text
    assert service.client.get("/deltagare/P4?vad_om=sew").status_code == 404
    _login(service, "enterprise_manager")
    assert service.client.get("/deltagare/P2?vad_om=garden").status_code == 404


def test_the_coordinator_reads_where_one_more_seat_helps_most(service: Service) -> None:
    _login(service, "coordinator")
    page = service.client.get("/oversikt/kapacitet?datum=2026-11-23")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Var gör en plats till mest nytta?" in text and "placerade utan tillskott den 2026-11-23" in text
    assert "Alla rader är uträknade exakt." in text and "omräknad" in text
    # One row per slot and two per site with a supervision limit (the tiny data: 4 slots, 2 such sites).
    body = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 4 + 2 * 2
    assert "Platser som ingen plan fyller" in text
    book = service.client.get("/oversikt/kapacitet.xlsx?datum=2026-11-23")
    assert book.status_code == 200 and book.headers["content-disposition"].endswith('kapacitetsvarde-2026-11-23.xlsx"')
    bad = service.client.get("/oversikt/kapacitet?datum=igår")
    assert bad.status_code == 422 and 'id="datum-error"' in bad.text


def test_the_coordinator_reads_who_is_left_behind_with_a_floor(service: Service) -> None:
    _login(service, "coordinator")
    page = service.client.get("/oversikt/rattvisa?datum=2026-11-23&golv=50")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Vem blir kvar?" in text and "av 6 placerade den 2026-11-23" in text
    assert "Med ett golv på 50 %" in text and "Placerade med golv" in text
    assert "Insats" in text and "Åldersgrupp" in text and "Alla siffror är exakta." in text
    assert service.client.get("/oversikt/rattvisa.xlsx?datum=2026-11-23&golv=50").status_code == 200
    for golv in ("0", "150", "hälften"):
        bad = service.client.get(f"/oversikt/rattvisa?golv={golv}")
        assert bad.status_code == 422 and "Ange golvet i procent, 1–100." in bad.text, golv


def test_only_the_coordinator_opens_the_decision_pages(service: Service) -> None:
    for who in ("coach", "enterprise_manager"):
        _login(service, who)
        for path in (
            "/oversikt/kapacitet",
            "/oversikt/rattvisa",
            "/oversikt/kapacitet.xlsx",
            "/oversikt/rattvisa.xlsx",
        ):
            assert service.client.get(path).status_code == 404, (who, path)
