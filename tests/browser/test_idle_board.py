"""A readiness board left alone on a tablet: its own refresh does not keep the clinician
signed in, so after the idle time the page goes to the sign-in page by itself; in the
"anonymous" mode it stays, refreshing, without patient names. A short idle time stands in
for SESSION_IDLE_MINUTES."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from lims.extensions import db

pytestmark = pytest.mark.browser

IDLE_SECONDS = 4


def short_idle(**extra: Any) -> dict[str, Any]:
    return {
        "TIMEZONE": "Europe/Berlin",
        "WTF_CSRF_ENABLED": True,
        "READINESS_REFRESH_SECONDS": 1,
        "PERMANENT_SESSION_LIFETIME": timedelta(seconds=IDLE_SECONDS),
        **extra,
    }


@pytest.fixture
def rita(register) -> None:
    register("ADIPOSE", mrn="MRN-RITA", name="Rita Ready")
    db.session.commit()


def open_the_board(page: Any, base: str) -> None:
    page.goto(f"{base}/login?next=/readiness/")
    page.fill("#username", "doctor")
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/readiness/$"))
    assert "Rita Ready" in page.locator("#board").inner_text()


@pytest.mark.parametrize("app_config", [short_idle()])
def test_a_board_left_alone_goes_to_the_sign_in_page(live_server, tablet, rita):
    open_the_board(tablet, live_server)
    tablet.wait_for_url(
        re.compile(r".*/login\?next=.*readiness.*"), timeout=(IDLE_SECONDS + 10) * 1000
    )
    assert "without use" in tablet.locator("main").inner_text()


@pytest.mark.parametrize("app_config", [short_idle(BOARD_IDLE_MODE="anonymous")])
def test_in_the_anonymous_mode_the_board_stays_without_names(live_server, tablet, rita):
    open_the_board(tablet, live_server)
    tablet.wait_for_selector("#board [data-masked]", timeout=(IDLE_SECONDS + 10) * 1000)
    board = tablet.locator("#board").inner_text()
    assert "Rita Ready" not in board and "MRN-RITA" not in board
    assert "Patient 1" in board
    assert tablet.url.endswith("/readiness/")  # the page itself stayed
