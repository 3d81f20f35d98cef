"""Real headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against a real Curbside server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from eval.live_server import LiveServer, serving

CHROMIUM = os.environ.get("CURBSIDE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"

if not Path(CHROMIUM).exists():  # `make test` installs it (make browser); never `playwright install`
    pytest.skip(
        f"{CHROMIUM} is missing: run 'make browser' (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="package")
def web_server(fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(fixture_index, tmp_path_factory.mktemp("e2e-server")) as server:
        yield server


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    ctx.set_default_timeout(60_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A fresh page (empty local storage) that records console errors and page errors."""
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    p.console_errors = errors  # type: ignore[attr-defined]
    return p
