"""The treatment course over the API (issue 18): a plan, the dose of the session given, the
visits with a correction and a photograph in ``GET /patients/<id>/course``, the photograph
read back and refused with a 409 once its stored file changes. The rules themselves are the
services' (tests/treatment); here the answers' shape and the HTTP errors."""

from __future__ import annotations

import io

from lims.services.actions import units
from tests.api.access_treatment import plan_body, png
from tests.backends import backend  # noqa: F401  (SQLite alone: the answers, not the data)
from tests.conftest import registration
from tests.service.lab import data_for, walk

from .helpers import assert_error


def test_a_course_over_the_api_from_plan_to_photograph(api, users, app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    source = units.register(registration(), users["clinician"]).unit
    patient = source.patient.id
    made = api.post(f"/patients/{patient}/treatment-plans", plan_body(), as_="clinician")
    assert made.status_code == 201, made.get_json()
    plan = made.get_json()
    assert made.headers["Location"].endswith(f"/treatment-plans/{plan['id']}")
    assert [s["status"] for s in plan["sessions"]] == ["planned"]
    assert [v["visit"] for v in plan["visits"]] == ["baseline", "month_3", "month_6", "month_12"]

    product = walk(source, "dispensed", users)  # SVF, 10 mL, 2.5 × 10⁶ viable cells
    given = {**data_for("administer", unit=product), "volume_ml": 4}
    units.perform_action(product.id, "administer", given, users["clinician"])

    base = api.post(
        f"/treatment-plans/{plan['id']}/assessments",
        {"visit": "baseline", "hair_count": 80, "area_cm2": 0.5},
        as_="clinician",
    ).get_json()
    month_3 = api.post(
        f"/treatment-plans/{plan['id']}/assessments",
        {"visit": "month_3", "hair_count": 90, "area_cm2": 0.5, "investigator_global": 1},
        as_="clinician",
    ).get_json()
    fixed = api.post(
        f"/assessments/{month_3['id']}/corrections",
        {"hair_count": 100, "area_cm2": 0.5, "investigator_global": 2, "reason": "recounted"},
        as_="clinician",
    )
    assert fixed.status_code == 201, fixed.get_json()
    # a correction names no visit: it is the corrected one's
    assert_error(
        api.post(
            f"/assessments/{fixed.get_json()['id']}/corrections",
            {"visit": "month_6", "hair_count": 1, "reason": "moved"},
            as_="clinician",
        ),
        422,
    )
    uploaded = api.post(
        f"/assessments/{base['id']}/photos",
        as_="clinician",
        data={"view": "vertex", "photo": (io.BytesIO(png()), "vertex.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    photo = uploaded.get_json()

    found = api.get(f"/patients/{patient}/course", as_="qa").get_json()
    (course,) = found["courses"]
    assert {u["id"] for u in course["units"]} >= {source.id, product.id}
    (session,) = course["plan"]["sessions"]
    assert session["status"] == "done" and session["product"]["id"] == product.id
    assert session["dose"]["words"] == "1.0 × 10⁶ viable cells in 4 mL"
    visits = {v["visit"]: v for v in course["plan"]["visits"]}
    assert visits["baseline"]["assessment"]["photos"][0]["sha256"] == photo["sha256"]
    three = visits["month_3"]
    assert (three["state"], three["assessment"]["density_per_cm2"]) == ("done", 200.0)
    assert [c["density_per_cm2"] for c in three["corrections"]] == [180.0]
    assert three["assessment"]["reason"] == "recounted"
    assert (three["density_change_per_cm2"], three["density_change_percent"]) == (40.0, 25.0)
    assert visits["month_3"]["due_on"] is not None  # counted from the session given

    image = api.get(f"/photos/{photo['id']}", as_="technician")
    assert (image.status_code, image.mimetype, image.data) == (200, "image/png", png())
    stored = next(tmp_path.iterdir())
    stored.write_bytes(stored.read_bytes() + b"\0")
    altered = assert_error(api.get(f"/photos/{photo['id']}", as_="qa"), 409, "photo_altered")
    assert "checksum" in altered["message"]


def test_the_api_refuses_bad_input_with_a_clear_4xx(api, users, register):
    patient = register("ADIPOSE").patient.id
    wrong_stage = {**plan_body(), "stage_scale": "salt", "stage": "S1"}
    refused = api.post(f"/patients/{patient}/treatment-plans", wrong_stage, as_="clinician")
    assert "stage_scale" in assert_error(refused, 422)["fields"]
    assert_error(api.get("/treatment-plans/999999", as_="qa"), 404)
    assert_error(api.get("/photos/999999", as_="qa"), 404)
    plan = api.post(f"/patients/{patient}/treatment-plans", plan_body(), as_="clinician")
    plan_id = plan.get_json()["id"]
    not_multipart = api.post(f"/assessments/{plan_id}/photos", {"view": "x"}, as_="clinician")
    assert_error(not_multipart, 415)
    session = plan.get_json()["sessions"][0]["id"]
    cancel = f"/treatment-plans/{plan_id}/sessions/{session}/cancel"
    assert_error(api.post(cancel, {"reason": "x"}, as_="clinician"), 422)
    assert api.post(cancel, {"reason": "travelling"}, as_="clinician").status_code == 200
    assert_error(api.post(cancel, {"reason": "travelling"}, as_="clinician"), 409, "not_planned")
