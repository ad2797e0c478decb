"""The pages work under the Content-Security-Policy: Chromium reports no blocked script,
style, font or image on the pages with the most moving parts (the label preview's inline
SVG and its font, the charts, the scan station, the board, a job's progress bar)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lims.extensions import db
from lims.models import Job
from tests.service.lab import walk

pytestmark = pytest.mark.browser


@pytest.fixture
def records(users, register) -> dict[str, int]:
    product = walk(register("ADIPOSE", mrn="MRN-C1", name="Cleo Policy"), "released", users)
    job = Job(kind="ledger_verify", status="queued", total=0, progress=0)  # its page polls
    job.started_by_id = users["qa"].id
    db.session.add(job)
    db.session.flush()
    found = {"product": product.id, "patient": product.patient.id, "job": job.id}
    db.session.commit()
    return found


def watch_for_violations(page: Any) -> list[str]:
    """Every CSP violation Chromium reports, as console errors."""
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: (
            seen.append(f"{page.url}: {msg.text} {msg.location}")
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    return seen


def sign_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "test-pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(?!login).*"))


def test_no_page_trips_the_policy(live_server, tablet, records):
    violations = watch_for_violations(tablet)
    visits = {
        "qa": [
            f"/units/{records['product']}",
            f"/labels/units/{records['product']}",
            f"/labels/patients/{records['patient']}",
            f"/audit/jobs/{records['job']}",
            "/audit/charts",
            "/audit/charts?type=SVF&test=viability&weeks=8",
            "/audit/",
            f"/audit/ledger?unit={records['product']}",
            f"/audit/units/{records['product']}/report",
            "/audit/receipts",
            "/audit/verify",
            "/release",
            "/units/",
            "/notifications",
        ],
        "admin": [
            "/admin/",
            "/admin/users",
            "/admin/catalogue",
            "/admin/specs",
            "/admin/deliveries",
        ],
        "technician": ["/station", "/units/register", f"/units/{records['product']}"],
        "clinician": ["/readiness/", f"/patients/{records['patient']}"],
    }
    names = {"technician": "tech", "clinician": "doctor"}
    for role, paths in visits.items():
        sign_in(tablet, live_server, names.get(role, role))
        for path in paths:
            response = tablet.goto(f"{live_server}{path}")
            assert response is not None and response.status < 400, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            tablet.wait_for_load_state("networkidle")
            if path.startswith("/labels/"):  # the preview's font, from /static under the policy
                assert tablet.evaluate(FONT_LOADED), path
    assert violations == []


FONT_LOADED = """async () => {
  await document.fonts.ready;
  return [...document.fonts].some(f => f.family.includes("DejaVu Sans") && f.status === "loaded");
}"""
