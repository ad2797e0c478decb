"""A clinician at a tablet records a patient's 3-month visit with a photograph and sees it
beside the baseline, with the change in hair density from baseline (issue 18)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lims.extensions import db
from lims.services.actions import treatment, units
from lims.services.clinic import outcomes
from tests.api.access_treatment import plan_body, png
from tests.service.lab import data_for, walk

from .test_readiness_board import sign_in_as_clinician

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(tmp_path) -> dict[str, Any]:
    return {"TIMEZONE": "Europe/Berlin", "WTF_CSRF_ENABLED": True, "PHOTO_DIR": str(tmp_path)}


@pytest.fixture
def course(users, register) -> dict[str, int]:
    """A course whose SVF was given, the baseline recorded with its vertex photograph."""
    source = register("ADIPOSE", name="Rita Regrowth")
    doctor = users["clinician"]
    plan = treatment.create_plan(source.patient.id, plan_body(), doctor)
    product = walk(source, "dispensed", users)
    units.perform_action(
        product.id, "administer", {**data_for("administer", unit=product), "volume_ml": 4}, doctor
    )
    base = outcomes.record(
        plan.id, {"visit": "baseline", "hair_count": 80, "area_cm2": 0.5}, doctor
    )
    outcomes.add_photo(base.id, "vertex", png(), "image/png", doctor)
    ids = {"patient": source.patient.id, "plan": plan.id}
    db.session.commit()
    return ids


def test_a_clinician_records_the_3_month_visit_and_sees_it_beside_baseline(
    live_server, tablet, course, tmp_path, screenshot
):
    sign_in_as_clinician(tablet, live_server)
    tablet.goto(f"{live_server}/patients/{course['patient']}")
    tablet.click("[data-treatment-link]")
    plan = tablet.locator(f"[data-plan='{course['plan']}']")
    assert "1.0 × 10⁶ viable cells in 4 mL" in plan.locator(".tx-sessions").inner_text()
    plan.locator("tr[data-visit='month_3'] a", has_text="Record").click()

    tablet.fill("#rec-hair_count", "110")
    tablet.fill("#rec-area_cm2", "0.5")
    tablet.select_option("#rec-investigator_global", "2")
    tablet.select_option("#rec-view", "vertex")
    photo = tmp_path / "vertex-3m.png"
    photo.write_bytes(png())
    tablet.set_input_files("#rec-photo", str(photo))
    tablet.click("button:has-text('Record the visit')")

    tablet.wait_for_url(re.compile(rf".*/patients/{course['patient']}/treatment#plan-\d+$"))
    assert "Recorded the 3 months visit. Photograph (vertex) stored." in tablet.content()
    row = tablet.locator("[data-photos] [data-view='vertex']")
    figures = row.locator("figure")
    assert figures.locator("figcaption strong").all_inner_texts() == ["Baseline", "3 months"]
    three = row.locator("[data-visit='month_3']")
    assert "220.0 hairs/cm²" in three.inner_text()
    assert "+60.0 hairs/cm² (+37.5 %) from baseline" in three.inner_text()
    # both images arrived (each checked against its SHA-256 by the server), side by side
    tablet.wait_for_function(
        "() => [...document.querySelectorAll('[data-view=vertex] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    boxes = [figures.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 1024
    screenshot(tablet, "beside-baseline")
