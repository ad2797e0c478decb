"""A clinician at a tablet opens the readiness board: a READY product with its
expiry ticking down every second, the warning of an injection booked after the expiry, an
estimate from the lab's own history, a new booking appearing without a reload; then the
patient page with the unit tree. Screenshots are kept as test artefacts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from lims.extensions import db
from lims.models.types import clock_at, utcnow
from lims.services.actions import units
from lims.services.clinic import appointments
from tests.service.lab import data_for, walk
from tests.service.readiness_lab import released_in_past

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": "Europe/Berlin", "WTF_CSRF_ENABLED": True, "READINESS_REFRESH_SECONDS": 2}


@pytest.fixture
def lab(users, register) -> dict[str, int]:
    """History of five SVF products; Rita's SVF released with an injection booked after it
    expires; Sam's lipoaspirate received half an hour ago. Ids only, nothing held open."""
    start = utcnow() - timedelta(days=15)
    for i in range(5):
        released_in_past(users, start + timedelta(days=i), mrn=f"MRN-H{i}")
    product = walk(register("ADIPOSE", mrn="MRN-R", name="Rita Ready"), "released", users)
    late = product.expires_at + timedelta(hours=2)
    appointments.book(
        product.patient.id,
        {"kind": "injection", "scheduled_at": late.isoformat()},
        users["clinician"],
    )
    source = register("ADIPOSE", mrn="MRN-S", name="Sam Soon")
    with clock_at(utcnow() - timedelta(minutes=30)):
        units.perform_action(source.id, "receive", data_for("receive"), users["technician"])
    ids = {"product": product.id, "patient": product.patient.id, "source": source.id}
    db.session.commit()
    return ids


def sign_in_as_clinician(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "doctor")
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/readiness/$"))


def test_the_clinician_reads_the_board_on_a_tablet(live_server, tablet, users, lab, screenshot):
    sign_in_as_clinician(tablet, live_server)
    ready = tablet.locator(f".rb-unit[data-unit='{lab['product']}']")
    assert "✓ READY" in ready.inner_text()
    assert "Ready for injection — usable until" in ready.inner_text()
    warning = ready.locator("[data-warning=expires_before_appointment]")
    assert "is after this product expires" in warning.inner_text()

    # the countdown ticks every second (the script shows seconds; the server does not)
    countdown = ready.locator(".countdown-text")
    tablet.wait_for_function(
        "el => / s left$/.test(el.textContent)", arg=countdown.element_handle()
    )
    first = countdown.inner_text()
    tablet.wait_for_function(
        "([el, was]) => el.textContent !== was", arg=[countdown.element_handle(), first]
    )

    estimate = tablet.locator(f".rb-unit[data-unit='{lab['source']}'] .rb-estimate")
    # five products of history and Rita's, made just now
    assert re.search(r"about .* \(usually .*from 6 products\)", estimate.inner_text())
    # Rita's injection comes before Sam's nothing: by next appointment
    names = tablet.locator(".rb-name a").all_inner_texts()
    assert names == ["Rita Ready", "Sam Soon"]
    width = tablet.evaluate("document.documentElement.scrollWidth")
    assert width <= 1024  # no sideways scrolling on the tablet
    screenshot(tablet, "board")

    # a booking made elsewhere appears without a reload
    tablet.evaluate("window.__sameDocument = true")
    source = units.get_unit(lab["source"])
    appointments.book(
        source.patient.id,
        {"kind": "collection", "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat()},
        users["clinician"],
    )
    db.session.rollback()
    tablet.wait_for_function(
        "() => [...document.querySelectorAll('.rb-name a')].map(a => a.textContent)[0] === 'Sam Soon'"
    )
    assert tablet.evaluate("window.__sameDocument") is True

    tablet.click("text=Rita Ready")
    tablet.wait_for_url(f"{live_server}/patients/{lab['patient']}")
    tree = tablet.locator(".pt-tree")
    assert tree.locator(f"li[data-unit='{lab['product']}']").count() == 1
    assert "Book an appointment" in tablet.locator("#appointments").inner_text()
    screenshot(tablet, "patient")
