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
