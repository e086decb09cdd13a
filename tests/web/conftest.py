"""Browser tests: `placement serve` on a free loopback port over a temporary SQLite database with the sample region,
driven by Playwright in Debian's headless Chromium (/usr/bin/chromium; never `playwright install`).

Skipped, saying why, when Chromium or Playwright is missing (a developer's machine); `.ci/run` installs both.
Every page a test visits is checked for console errors and with axe-core (tests/web/vendor/axe.min.js, MPL-2.0).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TIMEOUT_MS = 15_000

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - a machine without the test extra
    sync_playwright = None

pytestmark = pytest.mark.browser


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return "no /usr/bin/chromium (apt-get install chromium); .ci/run installs it"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, base: str, tokens: dict[str, str], database_url: str) -> None:
        self.base, self.tokens, self.database_url = base, tokens, database_url


@contextmanager
def start_server(work: Path) -> Iterator[Server]:
    """`placement serve` on a free loopback port over a new SQLite database in `work`, until the block ends."""
    port = _free_port()
    database_url = f"sqlite:///{work / 'web.db'}"
    env = {
        **os.environ,
        "PLACEMENT_DATABASE_URL": database_url,
        "PLACEMENT_DEMO_TOKENS_FILE": str(work / "tokens.txt"),
        "PLACEMENT_PORT": str(port),
        "PLACEMENT_MAX_PLAN_SECONDS": "5",
        "PLACEMENT_LOG_LEVEL": "WARNING",
    }
    log = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "placement_cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start: " + (work / "server.log").read_text()) from None
                time.sleep(0.5)
        tokens = {}
        for line in (work / "tokens.txt").read_text(encoding="utf-8").splitlines():
            name, _, token = line.split("\t")
            tokens[name] = token
        yield Server(base, tokens, database_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _skip_reason()
    if reason and os.environ.get("PLACEMENT_REQUIRE_BROWSER"):
        pytest.fail(f"PLACEMENT_REQUIRE_BROWSER is set (CI) but {reason}")
    if reason:
        pytest.skip(reason)
    with start_server(tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


class Visit:
    """One signed-in browser tab that records console errors and checks every page it loads with axe."""

    def __init__(self, page: Page, server: Server, name: str) -> None:
        self.page, self.server, self.name = page, server, name
        self.console_errors: list[str] = []
        self.axe_problems: list[str] = []
        self.shots = 0
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console_errors.append(f"{page.url}: {e}"))

    def _console(self, message: Any) -> None:
        # A page answered with its status (401 for a wrong token, 404 for another coach's participant) is logged by
        # Chromium as a failed load of the document itself: that is the page working; anything else is an error.
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") == self.page.url:
            return
        self.console_errors.append(f"{self.page.url}: {message.text} {message.location}")

    def login(self, user: str) -> None:
        self.page.goto(self.server.base + "/logga-in")
        self.check("logga-in")
        self.page.get_by_label("Din inloggningsnyckel").fill(self.server.tokens[user])
        self.page.get_by_role("button", name="Logga in").click()
        self.page.wait_for_load_state()

    def check(self, what: str) -> None:
        """axe-core on the page as it is now (no serious or critical violation), and a screenshot."""
        self.page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result: dict[str, Any] = self.page.evaluate("async () => await axe.run(document)")
        for v in result["violations"]:
            if v["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in v["nodes"]][:3]
                self.axe_problems.append(f"{self.page.url}: {v['id']} ({v['impact']}): {v['help']} {targets}")
        self.shot(what)

    def shot(self, what: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{what}.png"), full_page=True)


@pytest.fixture
def visit(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="sv-SE")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    v = Visit(page, server, request.node.name)
    yield v
    context.close()
    assert v.console_errors == [], v.console_errors
    assert v.axe_problems == [], v.axe_problems
