"""The treatment pages (issue 18): the clinician plans a course on the form (times read in the
site's zone), sees the session given with its dose in words, records the baseline and the
3-month visit with a photograph, corrects it (the original struck through beside it) and
sees the change from baseline; a plan that does not fit is refused with the form kept."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from lims.models import TreatmentPlan
from lims.models.types import utcnow
from lims.services.actions import units
from lims.timefmt import site_zone
from tests.api.access_treatment import png
from tests.backends import backend  # noqa: F401  (SQLite alone: what the pages show)
from tests.service.lab import data_for, walk


def _local(days: int) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M")


def _plan_form(**overrides) -> dict:
    return {
        "indication": "androgenetic_alopecia",
        "stage_scale": "norwood_hamilton",
        "stage": "IV",
        "maintenance_months": "6",
        "kind_0": "initial",
        "product_type_0": "SVF",
        "planned_at_0": _local(1),
        **overrides,
    }


def test_a_clinician_plans_records_and_corrects_on_the_pages(login, register, users, app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    source = register("ADIPOSE")
    patient = source.patient.id
    client = login("clinician")
    assert b"Treatment plan and outcomes" in client.get(f"/patients/{patient}").data

    page = client.post(f"/patients/{patient}/treatment/plans", data=_plan_form())
    assert page.status_code == 302
    plan = TreatmentPlan.query.filter_by(patient_id=patient).one()
    expected = utcnow() + timedelta(days=1)
    assert abs(plan.sessions[0].planned_at - expected) < timedelta(minutes=2)  # local → UTC

    product = walk(source, "dispensed", users)
    given = {**data_for("administer", unit=product), "volume_ml": 4}
    units.perform_action(product.id, "administer", given, users["clinician"])
    text = client.get(f"/patients/{patient}/treatment").get_data(as_text=True)
    assert "1.0 × 10⁶ viable cells in 4 mL" in text
    assert f"/units/{product.id}" in text
    assert '<option value="new" selected>' in text  # the latest course has its plan

    visits = f"/patients/{patient}/treatment/plans/{plan.id}/visits"
    base = {"op": "record", "hair_count": "80", "area_cm2": "0.5"}
    assert client.post(f"{visits}/baseline", data=base).status_code == 302
    three = {
        "op": "record",
        "hair_count": "90",
        "area_cm2": "0.5",
        "investigator_global": "1",
        "view": "vertex",
        "photo": (io.BytesIO(png()), "vertex.png", "image/png"),
    }
    response = client.post(f"{visits}/month_3", data=three, content_type="multipart/form-data")
    assert response.status_code == 302
    fix = {"op": "correct", "hair_count": "100", "area_cm2": "0.5", "reason": "recounted"}
    assert client.post(f"{visits}/month_3", data=fix).status_code == 302

    text = client.get(f"{visits}/month_3").get_data(as_text=True)
    assert re.search(r"<del>\s*180\.0 hairs/cm²", text)  # the original, struck through
    assert "+40.0 hairs/cm² (+25.0 %) from baseline" in text
    page = client.get(f"/patients/{patient}/treatment").get_data(as_text=True)
    assert 'data-visit="month_3" class="is-done"' in page
    (src,) = re.findall(r'src="(/patients/\d+/treatment/photos/\d+)"', page)
    assert client.get(src).data == png()

    # a second record of the same visit: refused on the form, nothing changed
    again = client.post(f"{visits}/month_3", data={"op": "record", "hair_count": "5"})
    assert again.status_code == 409
    assert "recorded already" in again.get_data(as_text=True)


def test_a_plan_that_does_not_fit_is_refused_with_the_form_kept(login, register):
    patient = register("ADIPOSE").patient.id
    client = login("clinician")
    wrong = _plan_form(stage_scale="salt", stage="S2", notes="keep me")
    page = client.post(f"/patients/{patient}/treatment/plans", data=wrong)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Nothing was planned" in text and "keep me" in text
    assert TreatmentPlan.query.count() == 0


def test_an_outcome_reminder_in_the_inbox_opens_the_treatment_page(login, register, users):
    from lims.services.actions import treatment
    from lims.services.clinic import outcomes
    from tests.api.access_treatment import plan_body

    patient = register("ADIPOSE").patient.id
    treatment.create_plan(patient, plan_body(), users["clinician"])  # baseline due in a week
    assert outcomes.remind() == 1
    inbox = login("clinician").get("/notifications").get_data(as_text=True)
    assert f'href="/patients/{patient}/treatment" data-link' in inbox


def test_the_board_shows_the_next_session_and_whether_its_product_is_ready(login, register, users):
    from lims.services.actions import treatment
    from tests.api.access_treatment import plan_body

    source = register("ADIPOSE")
    treatment.create_plan(source.patient.id, plan_body(), users["clinician"])  # SVF in a week
    client = login("clinician")
    board = client.get("/readiness/fragment").get_data(as_text=True)
    assert 'data-session-ready="no"' in board and "no SVF of this course ready yet" in board
    walk(source, "released", users)
    board = client.get("/readiness/fragment").get_data(as_text=True)
    assert 'data-session-ready="yes"' in board and "✓ SVF ready" in board
