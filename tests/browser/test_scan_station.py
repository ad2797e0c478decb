"""A technician at the scan station with a keyboard alone (a keyboard-wedge scanner types
the code and Enter): scan a unit, receive it through its shortcut, scan a location, see the
move in the unit's history; then a wrong wristband/unit pair stops the flow."""

from __future__ import annotations

import re

import pytest

from lims.extensions import db
from lims.services.admin import locations

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/scan-station-mismatch.png"


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "tech")
    page.fill("#password", "test-pass-1234")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/units/")


def scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code, then Enter."""
    page.keyboard.type(code)
    # Wait for the answer page itself (its script included), not the page that sent the scan.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()


def receive_by_keyboard(page) -> None:
    # the form's first field takes the focus itself (autofocus); a person types once it has
    # it, and so does the test (on a loaded machine typing could start a moment before)
    page.wait_for_function(
        "document.activeElement && document.activeElement.id === 'temperature_c'"
    )
    page.keyboard.type("4.5")  # temperature: the field has the focus
    page.keyboard.press("Tab")  # container intact? -> first choice, "Yes"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # label matches? -> "Yes"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("245")  # volume
    page.keyboard.press("Enter")


def codes_of(*records) -> list[str]:
    """Read what the test needs, then end the test's own transaction: on SQLite every
    transaction holds the write lock, and the server in its thread must be able to write."""
    values = [record() for record in records]
    db.session.rollback()
    return values


def test_receive_and_move_with_the_keyboard_alone(live_server, tablet, users, register):
    unit = register("ADIPOSE")
    box = locations.create_location("Box A1", "box", None, users["admin"])
    unit_id, barcode, box_code = codes_of(
        lambda: unit.id, lambda: unit.barcode_data, lambda: box.code
    )
    page = tablet
    sign_in(page, live_server)
    page.goto(f"{live_server}/station")
    assert page.evaluate("document.activeElement.id") == "code"

    scan(page, barcode)
    panel = page.locator("#unit-panel")
    assert "collected" in panel.inner_text().lower()
    key = page.locator("[data-action=receive]").get_attribute("data-key")
    page.keyboard.press(key)
    page.wait_for_url(re.compile(rf".*/units/{unit_id}/actions/receive.*"))

    receive_by_keyboard(page)
    page.wait_for_url(f"{live_server}/station")
    assert "is now received" in page.locator(".flash.success").inner_text()
    assert page.evaluate("document.activeElement.id") == "code"

    scan(page, box_code)
    assert "stored at Box A1" in page.locator("[data-outcome=moved]").inner_text()
    assert page.locator("#unit-location").inner_text() == "Box A1"

    page.keyboard.press("9")  # the unit page and its history
    page.wait_for_url(f"{live_server}/units/{unit_id}")
    events = page.locator("ol.timeline > li.event")
    actions = [events.nth(i).get_attribute("data-action") for i in range(events.count())]
    assert actions == ["register", "receive", "move"]
    assert "Box A1" in events.nth(2).inner_text()


def test_a_wrong_wristband_and_unit_pair_stops_the_flow(live_server, tablet, register):
    unit = register("ADIPOSE")
    other = register("ADIPOSE", mrn="MRN-2", name="Other Person")
    barcode, wristband = codes_of(lambda: unit.barcode_data, lambda: other.patient.wristband)
    page = tablet
    sign_in(page, live_server)
    page.goto(f"{live_server}/station")

    scan(page, wristband)
    assert "Now scan the unit" in page.locator("[data-outcome=patient]").inner_text()
    scan(page, barcode)

    alert = page.locator("#identity-mismatch")
    assert alert.get_attribute("role") == "alert"
    text = alert.inner_text()
    assert "STOP" in text and "Pat Example (MRN-1)" in text and "Other Person (MRN-2)" in text
    assert page.locator("#code").count() == 0  # nothing more can be scanned
    assert page.evaluate("document.activeElement.id") == "dismiss"
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.keyboard.type(barcode)  # a scan now goes nowhere
    assert page.locator("#identity-mismatch").count() == 1

    page.keyboard.press("Escape")
    page.wait_for_selector("#code")
    assert page.locator("#identity-mismatch").count() == 0
    assert page.evaluate("document.activeElement.id") == "code"
