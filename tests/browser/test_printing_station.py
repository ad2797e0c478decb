"""A technician at the scan station prints a unit's label to the bench's printer (a ZPL
emulator on 127.0.0.1) with one key, scans the new label back and sees it confirmed; prints
again with a reason, scans the wrong label, and the wrong-label alert stops them."""

from __future__ import annotations

import re

import pytest

from lims.extensions import db
from lims.printers.emulator import ZplPrinterEmulator, fields
from lims.services.station import printing

pytestmark = pytest.mark.browser


@pytest.fixture
def emulator():
    with ZplPrinterEmulator() as printer:
        yield printer


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "tech")
    page.fill("#password", "test-pass-1234")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/units/")


def scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code, then Enter."""
    page.keyboard.type(code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()


def has_focus(page, name: str) -> None:
    """Autofocus happens when the page is first drawn, which may come after its load event."""
    page.wait_for_function(
        "n => document.activeElement && document.activeElement.name === n", arg=name
    )


def test_print_scan_back_then_a_wrong_label(
    live_server, tablet, users, register, emulator, screenshot
):
    tube = printing.register_printer(
        {"name": "Tube 1", "kind": "zpl_tcp", "host": "127.0.0.1", "port": emulator.port}
        | {"stock": "tube"},
        users["admin"],
    )
    printing.add_rule({"printer_id": tube.id}, users["admin"])
    unit, other = register("ADIPOSE"), register("ADIPOSE", mrn="MRN-2", name="Other Person")
    barcode, wrong = unit.barcode_data, other.barcode_data
    db.session.rollback()  # SQLite: the server's thread must be able to write
    page = tablet
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    sign_in(page, live_server)
    page.goto(f"{live_server}/station")

    scan(page, barcode)
    screenshot(page, "station")
    with page.expect_navigation():
        page.keyboard.press("Alt+p")  # the Print label button's access key
    page.wait_for_url(re.compile(r".*/print/jobs/\d+$"))
    assert "scan the new label now" in page.locator("#print-status").inner_text()
    (received,) = emulator.wait_for_jobs(1)
    assert barcode in fields(received)

    has_focus(page, "scanned")  # the scan-back field, for the scanner
    scan(page, barcode)
    assert "Label confirmed by scan" in page.locator("#print-status").inner_text()

    with page.expect_navigation():
        page.click("[data-reprint]")
    page.fill("#reason", "label smudged")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "scan the new label now" in page.locator("#print-status").inner_text()
    assert len(emulator.wait_for_jobs(2)) == 2

    has_focus(page, "scanned")
    scan(page, wrong)
    alert = page.locator("#wrong-label")
    assert alert.is_visible() and alert.get_attribute("role") == "alert"
    assert f"WRONG LABEL — scanned {wrong}, expected {barcode}" in alert.inner_text()
    has_focus(page, "reason")  # the destruction's reason
    assert blocked == []
    screenshot(page, "wrong-label")
