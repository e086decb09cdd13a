"""The decision support in headless Chromium (conftest.py starts the server over the sample region): a coach asks
what would make a slot fit, a manager previews seats from a date and saves them, a coordinator reads where one
more seat helps most and who is left behind. Every page is checked with axe-core."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import pytest

if not os.environ.get("PLACEMENT_REQUIRE_BROWSER"):  # in CI a missing playwright fails the import instead
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect  # noqa: E402

from tests.web.conftest import Visit

pytestmark = pytest.mark.browser


def test_a_coach_asks_what_would_make_a_slot_fit(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coach")
    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Vad skulle göra att det passar?")).to_be_visible()
    choice = page.get_by_label("Plats", exact=True)
    choice.select_option(index=0)
    page.get_by_role("button", name="Visa vad som behövs").click()
    answer = page.locator("div.whatif")
    expect(answer).to_be_visible()
    expect(answer).to_contain_text(re.compile(r"Platsen passar redan|Minsta ändring"))
    visit.check("vad-om")


def test_a_manager_previews_seats_from_a_date_then_saves(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-manager")
    page.locator("tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Ändra antalet platser från ett datum")).to_be_visible()
    soon = (date.today() + timedelta(days=30)).isoformat()
    page.get_by_label("Gäller från").fill(soon)
    page.get_by_label(re.compile("Fler eller färre")).check()
    page.get_by_label("Antal", exact=True).fill("2")
    page.get_by_role("button", name="Förhandsgranska").click()
    preview = page.locator("div.preview")
    expect(preview).to_contain_text(f"Så här skulle det bli den {soon}")
    expect(preview).to_contain_text("placerade utan ändringen")
    visit.check("forhandsgranskning")
    page.get_by_role("button", name="Spara ändringen").click()
    expect(page.get_by_role("status")).to_have_text("Ändringen från datumet är sparad.")
    expect(page.locator("#fran-datum")).to_contain_text(f"Från {soon}: +2 platser")
    visit.check("datum-sparad")


def test_a_coordinator_reads_capacity_value_and_fairness(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coordinator")
    # Each of these pages computes its report before it answers (up to WEB_DECISION_SECONDS, 20 s, past the
    # default 15 s a click waits for its navigation): 13 s on an idle 2-core machine, more on a busy one.
    page.get_by_role("link", name="Mer kapacitet").click(timeout=60_000)
    expect(page.get_by_role("heading", name="Var gör en plats till mest nytta?")).to_be_visible()
    page.get_by_role("button", name="Räkna").click(timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("placerade utan tillskott", timeout=60_000)
    expect(page.get_by_role("heading", name="Platser som ingen plan fyller")).to_be_visible()
    visit.check("kapacitet")
    page.get_by_role("link", name="Vem blir kvar").click(timeout=60_000)
    page.get_by_label(re.compile("^Golv")).fill("50")
    page.get_by_role("button", name="Räkna").click(timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("placerade den", timeout=60_000)
    expect(page.locator("p.floor")).to_contain_text("golv på 50 %")
    visit.check("rattvisa")
