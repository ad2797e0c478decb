"""Browser tests: the app served on a free localhost port, driven by Debian's Chromium
through Playwright. SQLite only: the browser proves the pages work together; both
database backends are covered by the web and service tests."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

REQUIRE = os.environ.get("LIMS_REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(why: str):
    if REQUIRE:
        pytest.fail(
            f"the browser test needs Chromium and Playwright (LIMS_REQUIRE_SERVICES=1): {why}"
        )
    pytest.skip(f"browser not available: {why}")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": "Europe/Berlin", "WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, in a thread, for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        _missing("no 'chromium' on PATH (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _missing(f"playwright is not installed ({exc})")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tablet(browser) -> Iterator[Any]:
    """A page the size of a landscape tablet at the bench."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(15000)  # generous: CI runs on 2 busy cores
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


ARTIFACTS = Path(os.environ.get("LIMS_TEST_ARTIFACTS", "artifacts")) / "screenshots"


@pytest.fixture
def screenshot(request) -> Callable[[Any, str], Path]:
    """Keep a full-page screenshot as a test artefact: ``artifacts/screenshots/<test>-<name>.png``
    (``LIMS_TEST_ARTIFACTS`` moves the folder). Returns the file, which the test may check."""

    def _take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
