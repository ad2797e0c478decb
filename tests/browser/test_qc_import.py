"""A technician at a tablet uploads a cell counter's export, reads the preview (each result
with its unit, value and verdict; the refused rows with their reason), confirms, and watches
the job's bar fill until the page shows what was recorded."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import QcResult
from tests.qc_import.conftest import register_instrument, sample_file
from tests.service.lab import walk

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config() -> dict[str, Any]:
    # CSRF on, as served; more than three results to record: a job with a progress bar.
    return {"TIMEZONE": "Europe/Berlin", "WTF_CSRF_ENABLED": True, "QC_IMPORT_JOB_RESULTS": 3}


@pytest.fixture
def export(users, register, tmp_path) -> tuple[str, str, list[str]]:
    """The NC-200 sample export pointed at three SVF products in quarantine, on disk; the
    counter's code; the products' labels. The test's session holds no transaction after."""
    made = {
        i: walk(register("ADIPOSE", mrn=f"MRN-B{i}", name=f"Patient {i}"), "quarantine", users)
        for i in (1, 2, 3)
    }
    counter = register_instrument(
        users["admin"], "NucleoCounter NC-200", "cell_counter", "NC200-1412-0087"
    )
    path = tmp_path / "NC200_2026-12-05.csv"
    path.write_bytes(sample_file("nucleocounter_nc200.csv", made))
    labels = [made[i].label for i in (1, 2, 3)]
    db.session.commit()
    return str(path), counter, labels


def recorded() -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(QcResult)) or 0
    finally:
        db.session.rollback()


def test_a_technician_uploads_previews_and_confirms(live_server, tablet, export, screenshot):
    path, counter, labels = export
    page = tablet
    page.goto(f"{live_server}/login")
    page.fill("#username", "tech")
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/units/")

    page.click("nav >> text=QC import")
    page.wait_for_url(f"{live_server}/qc-imports")
    page.click("text=Upload a result file")
    page.set_input_files("#file", path)
    page.select_option("#format", "cell_counter")
    page.fill("#instrument", counter)
    page.fill("#lot", "VIA1-2611-04")
    page.click("main form.upload-form [type=submit]")
    page.wait_for_url(re.compile(r".*/qc-imports/\d+$"))

    assert "Previewed: 6 results ready to import, 4 refused." in page.inner_text("main")
    first = page.locator("tr.preview-row[data-line='10'][data-test='viable_cell_count']")
    assert labels[0] in first.inner_text() and "2.2×10⁷ cells" in first.inner_text()
    assert "pass" in first.locator(".verdict").inner_text().lower()
    failing = page.locator("tr.preview-row[data-line='11'][data-test='viability']")
    assert "fail" in failing.locator(".verdict").inner_text().lower()
    wrong = page.locator("tr.preview-row[data-line='13'][data-test='viability']")
    assert "check character 'X' is wrong" in wrong.inner_text()
    assert wrong.get_attribute("data-status") == "refused"
    screenshot(page, "preview")
    assert recorded() == 0

    page.click("[data-confirm-import]")
    page.wait_for_selector("[data-import-status=imported]", timeout=60_000)

    words = page.inner_text("main")
    assert "Imported: 6 results recorded, 4 refused." in words
    assert page.locator("progress#job-progress").get_attribute("value") == "6"
    assert page.locator("tr.preview-row[data-status=imported]").count() == 6
    assert "Confirm: record" not in words
    assert recorded() == 6
    screenshot(page, "imported")
