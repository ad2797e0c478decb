"""A technician at a tablet signs in, registers an adipose collection, receives it, and
sees both entries in the unit's history."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SCREENSHOT = "/tmp/unit-page.png"

pytestmark = pytest.mark.browser


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "tech")
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/units/")


def register_adipose(page, base: str) -> str:
    collected = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(hours=1)
    page.click("nav >> text=Register")
    page.fill("#mrn", "MRN-4711")
    page.fill("#name", "Maria Keller")
    page.fill("#birth_date", "1984-03-12")
    page.select_option("#unit_type", "ADIPOSE")
    page.select_option("#collection_site", "abdomen")
    page.fill("#volume_ml", "250")
    page.fill("#collected_at", collected.strftime("%Y-%m-%dT%H:%M"))
    page.click("button:has-text('Register collection')")
    page.wait_for_url(re.compile(r".*/units/\d+$"))
    flash = page.locator(".flash.success").inner_text()
    assert flash.startswith("Registered ") and "Maria Keller" in flash
    return page.url


def receive(page) -> None:
    page.click("a[data-action=receive]")
    page.fill("#temperature_c", "4.5")
    page.check("input[name=container_intact][value=yes]")
    page.check("input[name=label_matches][value=yes]")
    page.fill("#volume_ml", "245")
    page.click("main form.form button[type=submit]")
    page.wait_for_url(re.compile(r".*/units/\d+$"))


def test_register_then_receive_shows_both_in_the_history(live_server, tablet, users):
    sign_in(tablet, live_server)
    unit_url = register_adipose(tablet, live_server)

    receive(tablet)

    assert tablet.url == unit_url
    assert "is now received" in tablet.locator(".flash.success").inner_text()
    events = tablet.locator("ol.timeline > li.event")
    assert [events.nth(i).get_attribute("data-action") for i in range(events.count())] == [
        "register",
        "receive",
    ]
    assert "new → collected" in events.nth(0).inner_text()
    assert "collected → received" in events.nth(1).inner_text()
    assert "Temperature" in events.nth(1).inner_text()
    assert tablet.locator(".unit-head .badge").first.inner_text().lower() == "received"
    tablet.screenshot(path=SCREENSHOT, full_page=True)
