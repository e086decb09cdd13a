"""`make screenshot`: the coordinator's overview page in headless Chromium, saved for the README.

Starts `placement serve` over a fresh temporary database with the sample region (as the browser tests do),
signs in as the demo coordinator and saves the page: `python -m tests.web.screenshot docs/screenshot-coordinator.png`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.web.conftest import CHROMIUM, start_server


def main(out: str) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work, start_server(Path(work)) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server.base + "/logga-in")
        page.get_by_label("Din inloggningsnyckel").fill(server.tokens["demo-coordinator"])
        page.get_by_role("button", name="Logga in").click()
        page.get_by_role("heading", name="Översikt: beläggning").wait_for()
        page.screenshot(path=out, full_page=True)
        browser.close()
    print(f"saved {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-coordinator.png")
