"""Fixtures of the console tests: the CARE and OTHER orgs on the session's app."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from starlette.testclient import TestClient

from tests.console.support import apply_console_orgs
from tests.live import live_server


@pytest.fixture
def care(client: TestClient) -> TestClient:
    """The session's app (no customers yet) with the console orgs applied, its cookie jar empty."""
    apply_console_orgs(client)
    client.cookies.clear()
    return client


CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = os.environ.get("PATRON_SCREENSHOTS")
"""A directory to save the browser tests' screenshots in (`make screenshots`: docs/console)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright; in CI (PATRON_TEST_POSTGRES_URL set) it must exist.

    Module-scoped: Playwright's own event loop is closed again before other tests run theirs.
    """
    if not CHROMIUM.exists():
        if os.environ.get("PATRON_TEST_POSTGRES_URL"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    """A live patron on the session's database; the console orgs are applied by `care`."""
    with live_server(database_url) as base:
        yield base


@dataclass
class Screens:
    """Saves named screenshots when PATRON_SCREENSHOTS names a directory (once per name)."""

    backend: str

    def take(self, page: Page, name: str) -> None:
        """A screenshot of the whole page as docs/console/<name>.png."""
        if SCREENSHOTS and self.backend == "sqlite":
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def screens(backend: str) -> Screens:
    """Screenshots for docs/console.md (taken on SQLite only: one set is enough)."""
    return Screens(backend)


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Pages in fresh browser contexts (own cookies), each failing the test on any script
    error, CSP violation or alert."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()
    # A 4xx answer is logged by Chromium as a failed resource load; those are expected.
    unexpected = [p for p in problems if "Failed to load resource" not in p]
    assert unexpected == []
