"""The decision support on the Swedish pages, without a browser: "Vad skulle göra att det passar?" on a participant's
page (coach and coordinator), the coordinator's capacity-value and fairness pages, and the dated-change preview on
the slot page of an enterprise manager; each role's refusals."""

from __future__ import annotations

import html
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


SOON = (date.today() + timedelta(days=10)).isoformat()


def _dated(service: Service, slot: str, **form: str) -> object:
    page = service.client.get(f"/platser/{slot}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="([^"]*)"', page.text)
    assert version
    data = {"csrf_token": _csrf(page.text), "version": html.unescape(version.group(1)), **form}
    return service.client.post(f"/platser/{slot}/fran-datum", data=data, follow_redirects=False)


def test_a_manager_previews_more_seats_from_a_date_then_saves_them(service: Service) -> None:
    _login(service, "enterprise_manager")
    page = service.client.get("/platser/sew")
    assert "Ändra antalet platser från ett datum" in page.text and 'value="spara"' not in page.text
    preview = _dated(service, "sew", effective_from=SOON, mode="relative", amount="2", action="forhandsgranska")
    assert preview.status_code == 200, preview.text
    text = _text(preview.text)
    assert f"Så här skulle det bli den {SOON}" in text and "1 → 3 platser" in text
    assert "placerade utan ändringen" in text and 'value="spara"' in preview.text
    assert "förlorar den säkert" not in text  # a raise takes nobody's place
    assert "Planerade ändringar" not in text  # the preview saved nothing
    saved = _dated(service, "sew", effective_from=SOON, mode="relative", amount="2", action="spara")
    assert saved.status_code == 303 and saved.headers["location"] == "/platser/sew?klart=datum"
    after = _text(service.client.get("/platser/sew?klart=datum").text)
    assert "Ändringen från datumet är sparad." in after and f"Från {SOON}: +2 platser" in after
    # The same field on the same date again: refused by the date field, naming the change there.
    again = _dated(service, "sew", effective_from=SOON, mode="absolute", amount="5", action="forhandsgranska")
    assert again.status_code == 409 and "Det finns redan en ändring av platserna från det datumet" in again.text


def test_a_lowering_below_the_holders_says_who_certainly_loses_the_place(service: Service) -> None:
    _login(service, "coordinator")
    page = service.client.get("/deltagare/P1")
    placed = service.client.post(
        "/deltagare/P1/placera",
        data={"slot_id": "sew", "start_date": date.today().isoformat(), "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert placed.status_code == 303
    _login(service, "enterprise_manager")
    preview = _dated(service, "sew", effective_from=SOON, mode="absolute", amount="0", action="forhandsgranska")
    text = _text(preview.text)
    assert preview.status_code == 200 and "1 → 0 platser" in text
    assert "1 med en placering här förlorar den säkert" in text


def test_bad_dated_forms_are_named_by_their_field_in_swedish(service: Service) -> None:
    _login(service, "enterprise_manager")
    today = _dated(service, "sew", effective_from=date.today().isoformat(), mode="absolute", amount="2")
    assert (
        today.status_code == 422 and 'id="effective_from-error"' in today.text and "i morgon eller senare" in today.text
    )
    word = _dated(service, "sew", effective_from=SOON, mode="absolute", amount="två")
    assert word.status_code == 422 and 'id="amount-error"' in word.text and "Ange ett heltal." in word.text
    below = _dated(service, "sew", effective_from=SOON, mode="relative", amount="-5", action="forhandsgranska")
    assert below.status_code == 422 and "färre än 0 platser" in below.text
    no_token = service.client.post(
        "/platser/sew/fran-datum", data={"effective_from": SOON, "amount": "2"}, follow_redirects=False
    )
    assert no_token.status_code == 403
    assert "Från " not in _text(service.client.get("/platser/sew").text)  # nothing saved
    assert _dated_status(service, "furn") == 404  # another enterprise's slot
    _login(service, "coach")
    assert service.client.post("/platser/sew/fran-datum", data={"amount": "2"}).status_code == 403


def _dated_status(service: Service, slot: str) -> int:
    return int(service.client.get(f"/platser/{slot}").status_code)
