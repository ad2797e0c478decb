"""QA at a tablet searches the ledger by a unit's scanned label, opens the unit's chain-of-
custody report from a result, and finds the lineage, the signature's manifestation and the
chain check there; screenshots are kept as artefacts."""

from __future__ import annotations

import re

import pytest

from lims.extensions import db
from tests.service.lab import walk

pytestmark = pytest.mark.browser


@pytest.fixture
def released(users, register) -> tuple[int, str]:
    """A released SVF: its id and its DIN's bar-coded form. Only plain values: the test's own
    session must hold no SQLite transaction while the server works."""
    product = walk(register("ADIPOSE", mrn="MRN-7007", name="Ada Nowak"), "released", users)
    found = product.id, product.barcode_data
    db.session.commit()
    return found


def test_qa_searches_by_label_and_opens_the_custody_report(
    live_server, tablet, released, screenshot
):
    product_id, barcode = released
    tablet.goto(f"{live_server}/login")
    tablet.fill("#username", "qa")
    tablet.fill("#password", "test-pass-1234")
    tablet.click("button[type=submit]")
    tablet.wait_for_url(re.compile(r".*/audit/.*"))

    tablet.goto(f"{live_server}/audit/ledger")
    tablet.fill("#f-unit", barcode)
    tablet.select_option("#f-action", "release")
    tablet.click("form.ledger-filters button[type=submit]")
    rows = tablet.locator("table.ledger-table tbody tr")
    assert rows.count() == 1
    assert "Release" in rows.first.inner_text()
    screenshot(tablet, "audit-ledger-search")

    rows.first.locator("a[data-report]").click()
    tablet.wait_for_url(f"{live_server}/audit/units/{product_id}/report")
    body = tablet.locator("main").inner_text()
    assert "Chain-of-custody report" in body
    assert "Ada Nowak" in body
    assert re.search(r"Signed by Test Qa, .*: approved for release", body)
    assert "Chain verified at generation" in tablet.locator("[data-check]").inner_text()
    sections = tablet.locator("section.report-section h2").all_inner_texts()
    assert sections[0].startswith("1. ADIPOSE") and sections[1].startswith("2. SVF")
    screenshot(tablet, "audit-custody-report")

    with tablet.expect_download() as download:
        tablet.click("a[data-export=pdf]")
    assert download.value.suggested_filename.endswith(".pdf")
