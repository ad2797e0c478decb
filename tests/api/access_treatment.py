"""The API route × role table's rows for the treatment course (issue 18). The unit's patient
is the test's clinician's, so the role decides: the clinician plans and records; everyone who
may see the patient reads (whose patient decides: tests/treatment)."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime, timedelta

from .access import Endpoint

EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})
CLINICIAN = frozenset({"clinician"})
PHOTO_DIR = tempfile.mkdtemp(prefix="lims-test-photos-")


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 90, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def _soon(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def plan_body() -> dict:
    return {
        "indication": "androgenetic_alopecia",
        "stage_scale": "norwood_hamilton",
        "stage": "III",
        "sessions": [{"kind": "initial", "product_type": "SVF", "planned_at": _soon()}],
    }


def a_plan(users, role, unit) -> int:
    from lims.services.actions import treatment

    return treatment.create_plan(unit.patient.id, plan_body(), users["clinician"]).id


def a_plan_session(users, role, unit) -> str:
    from lims.services.actions import treatment

    plan = treatment.get_plan(a_plan(users, role, unit), users["clinician"])
    return f"{plan.id}/sessions/{plan.sessions[0].id}"


def an_assessment(users, role, unit) -> int:
    from lims.services.clinic import outcomes

    plan_id = a_plan(users, role, unit)
    return outcomes.record(plan_id, {"visit": "baseline", "hair_count": 80}, users["clinician"]).id


def a_photo(users, role, unit) -> int:
    from flask import current_app

    from lims.services.clinic import outcomes

    current_app.config["PHOTO_DIR"] = PHOTO_DIR
    assessment = an_assessment(users, role, unit)
    return outcomes.add_photo(assessment, "vertex", png(), "image/png", users["clinician"]).id


def _photo_dir(users, role, unit) -> str:
    from flask import current_app

    current_app.config["PHOTO_DIR"] = PHOTO_DIR
    return str(an_assessment(users, role, unit))


ENDPOINTS: dict[str, Endpoint] = {
    "api.patient_course": Endpoint("GET", "/patients/{patient}/course", EVERYONE),
    "api.create_treatment_plan": Endpoint(
        "POST", "/patients/{patient}/treatment-plans", CLINICIAN, 201, body=plan_body
    ),
    "api.get_treatment_plan": Endpoint("GET", "/treatment-plans/{plan}", EVERYONE),
    "api.add_treatment_session": Endpoint(
        "POST",
        "/treatment-plans/{plan}/sessions",
        CLINICIAN,
        201,
        body=lambda: {"kind": "maintenance", "product_type": "PRP", "planned_at": _soon(90)},
    ),
    "api.cancel_treatment_session": Endpoint(
        "POST",
        "/treatment-plans/{plansession}/cancel",
        CLINICIAN,
        body=lambda: {"reason": "patient travelling"},
    ),
    "api.record_assessment": Endpoint(
        "POST",
        "/treatment-plans/{plan}/assessments",
        CLINICIAN,
        201,
        body=lambda: {"visit": "baseline", "hair_count": 85, "area_cm2": 0.5},
    ),
    "api.correct_assessment": Endpoint(
        "POST",
        "/assessments/{assessment}/corrections",
        CLINICIAN,
        201,
        body=lambda: {"hair_count": 86, "reason": "recounted"},
    ),
    "api.add_assessment_photo": Endpoint(
        "POST",
        "/assessments/{photoready}/photos",
        CLINICIAN,
        201,
        body=lambda: {"view": "frontal", "photo": (io.BytesIO(png()), "front.png", "image/png")},
    ),
    "api.get_assessment_photo": Endpoint("GET", "/photos/{photo}", EVERYONE),
}
ROWS: dict = {
    "plan": a_plan,
    "plansession": a_plan_session,
    "assessment": an_assessment,
    "photo": a_photo,
    "photoready": _photo_dir,
}
