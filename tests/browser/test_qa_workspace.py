"""QA at a tablet in the audit workspace: lands on the audit home, starts a
verification and watches its bar finish, checks the head receipt the verification issued
(stored, then pasted back in as kept outside), and closes a deviation with a decision and
an electronic signature (a wrong password first: refused, nothing changes); and reads the
charts on the tablet, one product type and test chosen. Screenshots of
each page are kept as test artefacts."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Deviation, LedgerEntry, LedgerReceipt
from lims.services.actions import units
from tests.service.lab import PASSWORD, qc_data, walk

pytestmark = pytest.mark.browser


@pytest.fixture
def deviation_id(users, register) -> int:
    """An SVF in quarantine whose viability is out of specification: one open deviation.
    Only its id: the test's session holds no SQLite transaction while the server works."""
    product = walk(register("ADIPOSE", mrn="MRN-6021", name="Mara Linde"), "quarantine", users)
    units.perform_action(product.id, "record_qc", qc_data("viability", 41.0), users["technician"])
    db.session.commit()
    found = db.session.scalar(select(func.max(Deviation.id)))
    db.session.rollback()
    return found


def read(query):
    try:
        return db.session.execute(query).one()
    finally:
        db.session.rollback()


def test_qa_verifies_checks_a_receipt_and_closes_a_deviation(
    live_server, tablet, users, deviation_id, screenshot
):
    page = tablet
    page.goto(f"{live_server}/login")
    page.fill("#username", "qa")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/audit/")
    assert "has not been verified yet" in page.locator("[data-verdict]").inner_text()
    assert page.locator("[data-tile=deviations] [data-count]").inner_text() == "1"
    screenshot(page, "home-before")

    # Verify now: the job's page polls and moves the bar, then shows the verdict.
    page.click("button:has-text('Verify now')")
    page.wait_for_url(re.compile(r".*/audit/jobs/\d+$"))
    page.wait_for_selector("[data-job-status=done]")
    page.wait_for_selector("section.job-intact")
    bar = page.locator("progress#job-progress")
    entries = read(select(func.max(LedgerEntry.seq)))[0]
    assert bar.get_attribute("max") == bar.get_attribute("value") == str(entries)
    assert f"{entries} entries verified" in page.locator("section.job-intact").inner_text()
    screenshot(page, "verified")

    page.click("nav >> text=Audit")
    page.wait_for_url(f"{live_server}/audit/")
    verdict = page.locator("[data-verdict=intact]")
    assert f"Ledger intact: {entries} entries verified" in verdict.inner_text()
    assert "Still holds" in page.locator("[data-tile=receipt]").inner_text()
    screenshot(page, "home-after")

    # The receipt the verification issued: checked as stored, then pasted back in.
    page.click("[data-tile=receipt] a:has-text('Receipts')")
    page.wait_for_url(f"{live_server}/audit/receipts")
    row = page.locator(f"tr[data-seq='{entries}']")
    assert "valid" in row.inner_text()
    row.locator("text=Check").click()
    assert "Receipt holds" in page.locator("[data-check=ok]").inner_text()
    receipt_id, seq, head_hash, signature = read(
        select(
            LedgerReceipt.id, LedgerReceipt.seq, LedgerReceipt.entry_hash, LedgerReceipt.signature
        )
    )
    kept = page.request.get(f"{live_server}/audit/receipts/{receipt_id}.json").json()
    assert (kept["seq"], kept["entry_hash"], kept["signature"]) == (seq, head_hash, signature)
    page.fill("textarea[name=receipt]", json.dumps(kept))
    page.click("button:has-text('Check this receipt')")
    assert "the pasted receipt" in page.locator("[data-check=ok]").inner_text()
    screenshot(page, "receipts")

    # The deviation: QA's decision, signed.
    page.click("nav >> text=Audit")
    page.click("[data-tile=deviations] a:has-text('Deviations')")
    item = page.locator(f"li[data-deviation='{deviation_id}']")
    assert "Viability 41" in item.inner_text() and "Mara" not in item.inner_text()
    item.locator("text=Review and close").click()
    page.wait_for_url(re.compile(rf".*/audit/deviations/{deviation_id}/close$"))
    page.check("input[name=decision][value=accepted_with_conditions]")
    page.fill("textarea[name=note]", "use only with the physician's documented consent")
    page.fill("input[name=password]", "not-my-password")
    page.click("button:has-text('Sign and close')")
    assert "wrong password" in page.locator("form.qa-close-form").inner_text()
    assert read(select(Deviation.closed_at).where(Deviation.id == deviation_id))[0] is None
    screenshot(page, "wrong-password")

    page.check("input[name=decision][value=accepted_with_conditions]")
    page.fill("input[name=password]", PASSWORD)
    assert page.locator("input[name=meaning][value=reviewed]").is_checked()
    page.click("button:has-text('Sign and close')")
    page.wait_for_url(f"{live_server}/audit/deviations?state=closed")
    closed = page.locator(f"li[data-deviation='{deviation_id}'][data-state=closed]")
    text = closed.inner_text()
    assert "Decision: accepted with conditions" in text
    assert re.search(r"Signed by Test Qa, \d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST): reviewed", text), (
        text
    )
    path = screenshot(page, "deviation-closed")
    assert path.stat().st_size > 10_000


def test_qa_reads_the_charts_on_a_tablet(live_server, tablet, deviation_id, screenshot):
    page = tablet
    page.goto(f"{live_server}/login")
    page.fill("#username", "qa")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/audit/")
    page.click("a:has-text('Charts')")
    page.wait_for_url(re.compile(r".*/audit/charts.*"))

    page.select_option("#type", "SVF")
    page.select_option("#test", "viability")
    page.click("button:has-text('Show')")
    page.wait_for_url(re.compile(r".*type=SVF.*"))

    qc = page.locator("figure[data-chart=qc]")
    assert qc.get_attribute("data-empty") == "no"
    assert qc.locator("svg").is_visible()
    assert "Viability over time" in qc.locator("svg").text_content()
    out_of_spec = page.locator("#oos-table").inner_text()
    assert "41 %" in out_of_spec and "S2010 00" in out_of_spec  # the SVF, by its label
    assert "≥ 70 %" in page.locator("#limits-table").inner_text()
    assert page.locator("figure[data-chart=weekly]").get_attribute("data-empty") == "no"
    # Drawn to the tablet's width: nothing to scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    assert screenshot(page, "charts").stat().st_size > 10_000
