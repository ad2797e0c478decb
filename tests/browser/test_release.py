"""QA at a tablet opens the release queue, signs a release with the password, and sees the
signature's manifestation on the unit page. A wrong password first: refused,
nothing changes."""

from __future__ import annotations

import re

import pytest

from lims.extensions import db
from lims.services.actions import units
from tests.service.lab import pass_all_qc, walk

SCREENSHOT = "/tmp/release-signed.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def product_id(users, register) -> int:
    """An SVF in quarantine with every required result in specification. Only its id: the
    test's own session must hold no SQLite transaction while the server works."""
    product = walk(register("ADIPOSE", mrn="MRN-5150", name="Jonas Weber"), "quarantine", users)
    pass_all_qc(product, users["technician"])
    product_id = product.id
    db.session.commit()
    return product_id


def status_of(unit_id: int) -> str:
    try:
        return units.get_unit(unit_id).status
    finally:
        db.session.rollback()


def sign_in_as_qa(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "qa")
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/audit/$"))  # QA's home is the audit workspace


def test_qa_signs_a_release_from_the_queue(live_server, tablet, users, product_id):
    sign_in_as_qa(tablet, live_server)
    tablet.click("nav >> text=Release queue")
    tablet.wait_for_url(f"{live_server}/release")
    card = tablet.locator(f"article.rq-card[data-unit='{product_id}']")
    assert "Jonas Weber" in card.inner_text()
    assert "Ready to release" in card.inner_text()
    assert card.locator("li.qc-cell[data-state=pass]").count() == 5  # the SVF tests

    card.locator("a[data-action=release]").first.click()
    tablet.wait_for_url(re.compile(rf".*/units/{product_id}/actions/release.*"))
    tablet.fill("input[name=password]", "not-my-password")
    tablet.click("main form.form button[type=submit]")
    assert "wrong password" in tablet.locator("main form.form").inner_text()
    assert status_of(product_id) == "quarantine"

    tablet.fill("input[name=password]", "test-pass-1234")
    assert tablet.locator("input[name=meaning][value='approved for release']").is_checked()
    tablet.click("main form.form button[type=submit]")
    tablet.wait_for_url(f"{live_server}/release")
    assert "is now released" in tablet.locator(".flash.success").inner_text()
    assert tablet.locator(f"article.rq-card[data-unit='{product_id}']").count() == 0

    tablet.goto(f"{live_server}/units/{product_id}")
    signature = tablet.locator("section[aria-labelledby=signatures-title] li.signature").first
    text = signature.inner_text()
    assert re.search(
        r"Signed by Test Qa, \d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST|Europe/Berlin).*approved for release",
        text,
    ), text
    assert tablet.locator(".unit-head .badge").first.inner_text().lower() == "released"
    tablet.screenshot(path=SCREENSHOT, full_page=True)
