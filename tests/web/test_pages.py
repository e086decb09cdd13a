"""The Swedish pages end to end in headless Chromium, one role per test (conftest.py starts the server)."""

from __future__ import annotations

import os
import re
import sqlite3

import pytest

if not os.environ.get("PLACEMENT_REQUIRE_BROWSER"):  # in CI a missing playwright fails the import instead
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect  # noqa: E402

from tests.web.conftest import Server, Visit

pytestmark = pytest.mark.browser


def _audit_rows(server: Server, path_like: str) -> int:
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_log WHERE path LIKE ?", (path_like,)).fetchone()[0])


def test_login_page_refuses_an_unknown_token_in_swedish(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.server.base + "/deltagare")
    expect(page).to_have_url(re.compile(r"/logga-in$"))
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.get_by_label("Din inloggningsnyckel").fill("plc_nonsense")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_contain_text("Nyckeln är okänd")
    visit.check("fel-nyckel")


def test_a_coach_opens_a_participant_sees_swedish_reasons_and_places_the_person(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coach")
    expect(page.get_by_role("heading", name="Mina deltagare")).to_be_visible()
    visit.check("mina-deltagare")
    page.get_by_role("link", name="Timmar/vecka").click()  # sort by hours
    expect(page).to_have_url(re.compile(r"sort=hours"))
    first = page.locator("tbody tr").first.get_by_role("link")
    participant = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=f"Deltagare {participant}")).to_be_visible()
    suggestion = page.locator("li.suggestion").first
    expect(suggestion).to_contain_text("Passar:")
    expect(suggestion).to_contain_text("min resväg")
    visit.check("deltagare")
    before = _audit_rows(visit.server, f"/deltagare/{participant}")
    assert before >= 1  # the page's read is audited as the API's is
    suggestion.get_by_role("button", name=re.compile("^Placera på")).click()
    expect(page.get_by_role("status")).to_have_text("Deltagaren är placerad.")
    expect(page.get_by_role("heading", name="Avsluta placeringen")).to_be_visible()
    assert _audit_rows(visit.server, f"/deltagare/{participant}/placera") == 1
    visit.check("placerad")
    page.get_by_label("Anledning").select_option(label="Arbete")
    page.get_by_role("button", name="Avsluta placering").click()
    expect(page.get_by_role("status")).to_have_text("Placeringen är avslutad.")
    page.get_by_role("button", name="Logga ut").click()
    expect(page).to_have_url(re.compile(r"/logga-in$"))
    page.goto(visit.server.base + "/deltagare")
    expect(page).to_have_url(re.compile(r"/logga-in$"))  # the session is gone


def test_a_coach_cannot_open_a_participant_who_is_not_theirs(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coach")
    mine = page.locator("tbody tr a").all_inner_texts()
    other = "P0200"
    assert other not in mine
    response = page.goto(visit.server.base + f"/deltagare/{other}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Sidan finns inte")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("inte din deltagare")
    visit.check("404")


def test_a_form_without_its_csrf_token_is_refused(visit: Visit) -> None:
    visit.login("demo-coach")
    response = visit.page.request.post(
        visit.server.base + "/deltagare/P0001/placera", form={"slot_id": "yalla_cafe", "start_date": "2026-12-01"}
    )
    assert response.status == 403
    assert "Formuläret" in response.text()


def test_a_manager_changes_seats_and_meets_a_stale_form(visit: Visit, browser) -> None:  # type: ignore[no-untyped-def]
    page = visit.page
    visit.login("demo-manager")
    expect(page.get_by_role("heading", name="Platser")).to_be_visible()
    visit.check("platser")
    page.locator("tbody tr a").first.click()
    seats = page.get_by_label("Platser", exact=True)
    old = int(seats.input_value())
    seats.fill(str(old + 1))
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Ändringen är sparad.")
    expect(page.get_by_label("Platser", exact=True)).to_have_value(str(old + 1))
    visit.check("plats-sparad")
    # A second tab of the same manager changes the slot while the first still shows the old form.
    url = page.url.split("?")[0]
    other = page.context.new_page()
    other.goto(url)
    other.get_by_label("Högst timmar per vecka").fill("30")
    other.get_by_role("button", name="Spara").click()
    expect(other.get_by_role("status")).to_have_text("Ändringen är sparad.")
    other.close()
    page.get_by_label("Platser", exact=True).fill(str(old + 2))
    page.get_by_role("button", name="Spara").click()
    stale = page.locator("section.stale")
    expect(stale).to_contain_text("Någon annan har ändrat platsen")
    expect(stale).to_contain_text("Högst timmar/vecka")
    visit.check("inaktuellt-formular")
    # The form holds the manager's values: send again to redo the change over the new version.
    expect(page.get_by_label("Platser", exact=True)).to_have_value(str(old + 2))
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Ändringen är sparad.")
    expect(page.get_by_label("Platser", exact=True)).to_have_value(str(old + 2))
    # A field error is shown next to the field, in Swedish.
    page.get_by_label("Platser", exact=True).fill("många")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator("#seats-error")).to_have_text("Ange ett heltal.")
    visit.check("faltfel")


def test_a_coordinator_sees_utilisation_runs_a_plan_watches_it_and_applies_it(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coordinator")
    expect(page.get_by_role("heading", name="Översikt: beläggning")).to_be_visible()
    expect(page.locator("table tbody tr").first).to_be_visible()
    visit.check("oversikt")
    page.get_by_label("Gruppera efter").select_option(label="Kommun")
    page.get_by_role("button", name="Visa").click()
    expect(page.locator("table thead")).to_contain_text("Kommun")
    page.get_by_role("navigation").get_by_role("link", name="Planer").click()
    page.get_by_role("button", name="Kör plan").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Plan \d+"))).to_be_visible()
    visit.shot("plan-pagar")
    expect(page.locator("#plan-state")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.get_by_role("button", name="Genomför alla")).to_be_visible(timeout=15_000)
    expect(page.locator("table")).to_contain_text("Ny")
    why = page.locator("td[data-why]")  # each proposal says why, in Swedish, the unplaced included
    expect(why.filter(has_text=re.compile(r"^Ny plats: .+ min resväg")).first).to_be_visible()
    expect(why.filter(has_text=re.compile(r"^Oplacerad: \S")).first).to_be_visible()
    visit.check("plan-klar")
    page.locator("tbody input[type=checkbox]").first.check()
    page.get_by_role("button", name="Genomför valda").click()
    expect(page.get_by_role("status")).to_have_text("1 förslag genomförda.")
    page.get_by_role("button", name="Genomför alla").click()  # the rest; the one applied is refused as done
    expect(page.get_by_role("status")).to_contain_text("förslag genomförda")
    visit.check("plan-genomford")


def test_the_accessibility_check_finds_a_serious_violation_when_there_is_one(visit: Visit) -> None:
    """The axe check of every page is real: a page with an unlabelled field and poor contrast fails it."""
    visit.page.set_content(
        '<html lang="sv"><body><main><input type="text"><p style="color:#bbb;background:#fff">svag text</p>'
        "</main></body></html>"
    )
    visit.check("axe-kontroll")
    found = {p.split(": ")[1].split(" ")[0] for p in visit.axe_problems}
    assert {"label", "color-contrast"} <= found
    visit.axe_problems.clear()


def test_a_coordinator_imports_a_file_with_an_error_sees_it_named_then_applies_a_good_one(
    visit: Visit, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import ROOT

    lines = (ROOT / "data" / "sample" / "slots.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    seats = header.index("seats")
    row = lines[1].split(",")
    bad, good = list(row), list(row)
    bad[seats] = "många"
    good[seats] = str(int(row[seats]) + 3)
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    (tmp_path / "bad" / "slots.csv").write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n", "utf-8")
    (tmp_path / "good" / "slots.csv").write_text("\n".join([lines[0], ",".join(good), *lines[2:]]) + "\n", "utf-8")
    page = visit.page
    visit.login("demo-coordinator")
    page.get_by_role("navigation").get_by_role("link", name="Import").click()
    visit.check("import")
    page.get_by_label("CSV-filer eller en Excel-arbetsbok").set_input_files(str(tmp_path / "bad" / "slots.csv"))
    page.get_by_role("button", name="Förhandsgranska").click()
    expect(page.get_by_role("alert")).to_contain_text("inget har sparats")
    problem = page.locator("#problems tbody tr").first
    expect(problem).to_contain_text("slots.csv")
    expect(problem.locator("td").nth(1)).to_have_text("2")
    expect(problem.locator("td").nth(2)).to_have_text("seats")
    expect(problem.locator("td").nth(3)).to_have_text("’många’ är inte ett heltal")
    visit.check("import-fel")
    page.get_by_label("CSV-filer eller en Excel-arbetsbok").set_input_files(str(tmp_path / "good" / "slots.csv"))
    page.get_by_role("button", name="Förhandsgranska").click()
    expect(page.get_by_role("heading", name=re.compile("Förhandsgranskning"))).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("skulle ändras: 1")
    visit.check("import-forhandsgranskning")
    page.get_by_role("button", name="Genomför importen").click()
    expect(page.get_by_role("heading", name="Importen är genomförd")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("ändrade: 1")


def test_a_coordinator_reads_the_audit_log_and_downloads_a_workbook(visit: Visit) -> None:
    page = visit.page
    visit.login("demo-coordinator")
    page.get_by_role("navigation").get_by_role("link", name="Deltagare").click()  # a read that is audited
    page.get_by_role("navigation").get_by_role("link", name="Logg").click()
    expect(page.locator("tbody tr").first).to_contain_text("demo-coordinator")
    expect(page.locator("tbody tr").first).to_contain_text("läste")
    visit.check("logg")
    page.get_by_role("navigation").get_by_role("link", name="Översikt").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Ladda ner som Excel")).click()
    assert download.value.suggested_filename.startswith("belaggning-per-verksamhet-")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_pages_work_on_a_phone_sized_screen(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        v = Visit(page, server, "telefon")
        v.login("demo-coach")
        expect(page.get_by_role("heading", name="Mina deltagare")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380  # no sideways scrolling of the page (wide tables scroll inside their box)
        v.check("telefon")
        assert v.axe_problems == [] and v.console_errors == []
    finally:
        context.close()
