"""At the lab, a technician at a tablet scans in a shipment of five units from the clinic
(packed and dispatched through the services): four scans tick four units off the manifest's
checklist and leave one unticked; sent like that, the page asks for a note naming the missing
unit, with the scans kept and the cursor in the note; written and sent, the shipment shows
four accepted and one missing, and the missing unit has its deviation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Deviation
from lims.services.admin import accounts, sites
from lims.services.station import shipments

pytestmark = pytest.mark.browser

PASSWORD = "test-pass-1234"


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "tech")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/units/")


def has_focus(page, name: str) -> None:
    """Autofocus happens when the page is first drawn, which may come after its load event."""
    page.wait_for_function(
        "n => document.activeElement && document.activeElement.name === n", arg=name
    )


@pytest.fixture
def dispatched(users, register):
    """Five collections from the clinic, packed by one clinician and checked by another."""
    admin = users["admin"]
    (lab,) = sites.list_sites()
    clinic = sites.register_site(
        {
            "code": "C0002",
            "name": "Hair Clinic North",
            "address": "2 North Street, 00000 City",
            "timezone": "Europe/Paris",
            "kind": "clinic",
        },
        admin,
    )
    nurse = accounts.create_user("nurse", "clinician", PASSWORD, full_name="Second Clinician")
    doctor = users["clinician"]
    for person in (doctor, nurse):
        sites.set_memberships(person.id, [clinic.id], admin)
    shipment = shipments.create(
        {
            "from_site": clinic.id,
            "to_site": lab.id,
            "container": "Insulated box 12 L",
            "courier": "MedCourier",
            "condition": "refrigerated",
        },
        doctor,
    )
    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Pat {i}") for i in range(5)]
    for unit in made:
        shipments.add_item(shipment.id, {"code": unit.barcode_data}, doctor)
    shipments.dispatch(
        shipment.id, {"checked_by": "nurse", "checked_by_password": PASSWORD}, doctor
    )
    found = (shipment.id, shipment.code, [(u.id, u.barcode_data, u.eye_readable) for u in made])
    db.session.rollback()  # SQLite: the server's thread must be able to write
    return found


def test_four_of_five_scanned_in_and_the_missing_one_noted(
    live_server, tablet, dispatched, screenshot
):
    shipment_id, code, made = dispatched
    page = tablet
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
    sign_in(page, live_server)
    page.goto(f"{live_server}/shipments/{shipment_id}")
    assert f"Shipment {code}" in page.locator("h1").inner_text()

    has_focus(page, "arrival_temperature_c")
    page.keyboard.type("5")
    page.keyboard.press("Enter")  # on to the scan box, not sending the form
    page.wait_for_function("() => document.activeElement.hasAttribute('data-receive-scan')")
    for _unit_id, barcode, _din in made[:4]:
        page.keyboard.type(barcode)  # a keyboard-wedge scanner: the code, then Enter
        page.keyboard.press("Enter")

    rows = page.locator("tr[data-codes]")
    assert rows.count() == 5
    ticked = page.locator("tr[data-codes].is-scanned")
    assert ticked.count() == 4
    assert page.locator("tr[data-codes]:not(.is-scanned)").count() == 1
    unticked = page.locator("tr[data-codes]:not(.is-scanned)")
    assert made[4][2] in unticked.inner_text() and "not scanned" in unticked.inner_text()
    assert page.locator("[data-progress]").inner_text().startswith("4 of 5 scanned")
    assert page.locator("textarea[name=scanned]").input_value().split() == [
        barcode for _id, barcode, _din in made[:4]
    ]
    screenshot(page, "four-scanned")

    with page.expect_navigation():
        page.click("button:has-text('Receive shipment'), input[value='Receive shipment']")
    error = page.locator("#receive .form-error").inner_text()
    assert "Not received yet: the shipment does not arrive as sent" in error
    assert f"{made[4][2]}" in error and "missing" in error
    has_focus(page, "note")
    assert page.locator("tr[data-codes].is-scanned").count() == 4  # the scans were kept
    screenshot(page, "note-asked")

    page.keyboard.type("Box arrived with four bags; the courier was called about the fifth.")
    with page.expect_navigation():
        page.click("input[value='Receive shipment'], button:has-text('Receive shipment')")
    page.wait_for_url(re.compile(rf".*/shipments/{shipment_id}$"))
    assert "received: 4 accepted, 1 missing" in page.locator(".flash.success").inner_text()
    outcomes = page.locator("[data-outcomes]")
    assert outcomes.locator("[data-outcome-count=accepted]").inner_text() == "4"
    assert outcomes.locator("[data-outcome-count=missing]").inner_text() == "1"
    assert page.locator("#items tr[data-outcome=accepted]").count() == 4
    missing = page.locator("#items tr[data-outcome=missing]")
    assert missing.count() == 1 and made[4][2] in missing.inner_text()
    assert blocked == []
    screenshot(page, "received")

    db.session.rollback()
    (deviation,) = db.session.scalars(select(Deviation))
    assert deviation.unit_id == made[4][0] and deviation.shipment_id == shipment_id
    assert deviation.kind == "shipment_discrepancy" and "missing" in deviation.description
    assert missing.locator(f"[data-deviation='{deviation.id}']").count() == 1
