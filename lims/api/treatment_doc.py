"""The OpenAPI operations and schemas of the treatment course (docs/treatment.md): plans and sessions,
outcome assessments, their corrections and photographs, and a patient's whole course;
``openapi`` joins them to the rest. The request bodies are the services' own models."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ..domain import treatment as rules
from ..services.actions.treatment import AddSessionFields, PlanFields
from ..services.clinic.outcomes import AssessmentFields, CorrectionFields
from .operation import Operation, Rule
from .schemas import PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
VisitState = Literal["done", "due", "overdue", "upcoming", "not_scheduled"]


class CourseUnitOut(Response):
    id: int
    din: str
    product_code: str
    division: str
    unit_type: str
    status: str


class DoseOut(Response):
    basis: str | None = Field(description="the QC test the dose comes from; null: none on record")
    volume_ml: float = Field(description="the volume given")
    count: int | None = Field(description="cells or platelets given")
    per_ml: float | None
    words: str = Field(description="e.g. '1.0 × 10⁶ viable cells in 4 mL'")


class SessionOut(Response):
    id: int
    number: int
    kind: Literal[rules.SESSION_KINDS]  # type: ignore[valid-type]
    product_type: str
    planned_at: UtcTime
    status: Literal[rules.SESSION_STATUSES]  # type: ignore[valid-type]
    appointment_id: int | None = Field(description="the injection appointment it booked")
    product: CourseUnitOut | None = Field(description="once given: the product administered")
    administered_at: UtcTime | None
    dose: DoseOut | None


class PhotoOut(Response):
    id: int
    assessment_id: int
    view: str
    content_type: str
    size: int
    sha256: str = Field(description="of the file as stored; checked each time it is read")
    uploaded_at: UtcTime


class AssessmentOut(Response):
    id: int
    plan_id: int
    visit: str
    assessed_at: UtcTime
    hair_count: int | None
    area_cm2: float | None
    density_per_cm2: float | None = Field(description="hair count / target area")
    terminal_vellus_ratio: float | None
    shaft_diameter_um: float | None
    investigator_global: int | None
    patient_global: int | None
    satisfaction: int | None
    adverse_events: str | None
    notes: str | None
    corrects_id: int | None = Field(description="the version this one corrects")
    reason: str | None = Field(description="why it was corrected")
    recorded_by: PersonOut
    recorded_at: UtcTime
    photos: list[PhotoOut] = Field(description="the photographs uploaded to this version")


class VisitOut(Response):
    visit: str = Field(description="baseline, month_3 …")
    label: str
    months: int
    due_on: date | None = Field(description="null: not scheduled until a session is given")
    state: VisitState
    assessment: AssessmentOut | None = Field(description="the current version")
    corrections: list[AssessmentOut] = Field(
        description="the earlier versions the current one corrected, oldest first"
    )
    density_change_per_cm2: float | None = Field(description="against baseline's density")
    density_change_percent: float | None


class PlanOut(Response):
    id: int
    patient_id: int
    course: str = Field(description="the therapy course's chain-of-identity identifier")
    indication: str
    indication_label: str
    stage_scale: str | None
    stage: str | None
    maintenance_months: int | None
    notes: str | None
    clinician: PersonOut
    created_at: UtcTime
    sessions: list[SessionOut]
    visits: list[VisitOut]


class CourseOut(Response):
    code: str
    started_at: UtcTime
    site: str | None
    units: list[CourseUnitOut]
    plan: PlanOut | None


class PatientCourseOut(Response):
    patient_id: int
    mrn: str
    courses: list[CourseOut] = Field(description="latest first")


class CancelSessionIn(Request):
    reason: str = Field(min_length=3, max_length=500)


class PhotoUpload(Request):
    """A photograph (``multipart/form-data``) in one of the standard views."""

    view: Literal[rules.PHOTO_VIEWS] = Field(  # type: ignore[valid-type]
        description="the standard view"
    )
    photo: bytes = Field(
        description=f"a JPEG or PNG image, at most {rules.PHOTO_MAX_BYTES // (1024 * 1024)} MB"
    )


NOT_YOURS = Rule(
    None, ("not_your_patient", "role_not_allowed"), "the patient's own clinician only (403)"
)
PLAN_LINKS = {
    name: {"plan_id": "$response.body#/id"}
    for name in ("get_treatment_plan", "add_treatment_session", "record_assessment")
}
MEASURE_RULES = (
    Rule("hair_count", ("invalid_fields",), "at least one measure or scale"),
    *(
        Rule(name, ("invalid_fields",), "no global assessment at baseline (it compares with it)")
        for name in ("investigator_global", "patient_global")
    ),
    Rule("assessed_at", ("invalid_fields",), "with its zone, not in the future"),
)
TIME_RULE = Rule(
    "planned_at", ("invalid_fields",), "with its zone, from a day ago to five years ahead"
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/patients/{patient_id}/course",
        "patient_course",
        "A patient's treatment: each therapy course with its units, its plan and sessions "
        "(the product given and the dose), and the outcome visits with the current assessment, "
        "the versions it corrected, the photographs and the change from baseline",
        "PatientCourseOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/patients/{patient_id}/treatment-plans",
        "create_treatment_plan",
        "Plan a therapy course for one of the caller's own patients: indication, stage, the "
        "sessions (each within a year books its injection appointment); plan_treatment",
        "PlanOut",
        201,
        request="PlanFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule("stage_scale", ("invalid_fields",), "a scale that fits the indication"),
            Rule("stage", ("invalid_fields",), "a stage on that scale"),
            Rule(
                "course",
                ("invalid_fields", "unknown_course", "course_of_another_patient"),
                "one of the patient's courses (a chain-of-identity identifier), or 'new'",
            ),
            Rule("sessions", ("invalid_fields",), TIME_RULE.words),
            Rule(None, ("course_planned",), "one plan per course (409)"),
            NOT_YOURS,
        ),
        headers={"Location": "the plan's address"},
        links=PLAN_LINKS,
    ),
    Operation(
        "get",
        "/treatment-plans/{plan_id}",
        "get_treatment_plan",
        "One treatment plan with its sessions and outcome visits",
        "PlanOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/treatment-plans/{plan_id}/sessions",
        "add_treatment_session",
        "Plan one more session (a maintenance treatment, another of a series): plan_session",
        "PlanOut",
        201,
        request="AddSessionFields",
        errors=(*BODY_ERRORS, 401, 403, 404),
        rules=(TIME_RULE, NOT_YOURS),
        links=PLAN_LINKS,
    ),
    Operation(
        "post",
        "/treatment-plans/{plan_id}/sessions/{session_id}/cancel",
        "cancel_treatment_session",
        "Cancel a planned session with the reason (its booked appointment too): cancel_session",
        "PlanOut",
        request="CancelSessionIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule("reason", ("invalid_fields",), "3 characters at least, without the spaces"),
            Rule(None, ("not_planned",), "a session still planned (409)"),
            NOT_YOURS,
        ),
    ),
    Operation(
        "post",
        "/treatment-plans/{plan_id}/assessments",
        "record_assessment",
        "Record one outcome visit's assessment (once; then it is corrected): record_assessment",
        "AssessmentOut",
        201,
        request="AssessmentFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule("visit", ("invalid_fields",), "a visit of the configured schedule"),
            *MEASURE_RULES,
            Rule(None, ("already_assessed",), "one assessment per visit (409)"),
            NOT_YOURS,
        ),
        links={
            "correct_assessment": {"assessment_id": "$response.body#/id"},
            "add_assessment_photo": {"assessment_id": "$response.body#/id"},
        },
    ),
    Operation(
        "post",
        "/assessments/{assessment_id}/corrections",
        "correct_assessment",
        "Correct the current version of an assessment: every value again and the reason; the "
        "original is kept (correct_assessment)",
        "AssessmentOut",
        201,
        request="CorrectionFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            *MEASURE_RULES,
            Rule(None, ("stale_assessment",), "the latest version only (409)"),
            NOT_YOURS,
        ),
    ),
    Operation(
        "post",
        "/assessments/{assessment_id}/photos",
        "add_assessment_photo",
        "Upload a photograph of the visit in a standard view; stored with its SHA-256 "
        "(add_assessment_photo)",
        "PhotoOut",
        201,
        request="PhotoUpload",
        request_media="multipart/form-data",
        errors=(400, 401, 403, 404, 413, 415, 422),
        headers={"Location": "the photograph's address"},
        rules=(
            Rule("photo", ("invalid_fields",), "a JPEG or PNG file whose bytes are one"),
            NOT_YOURS,
        ),
        links={"get_assessment_photo": {"photo_id": "$response.body#/id"}},
    ),
    Operation(
        "get",
        "/photos/{photo_id}",
        "get_assessment_photo",
        "A photograph's image, checked against its SHA-256 first: 409 photo_altered (or "
        "photo_missing) when the stored file is no longer the one uploaded",
        None,
        errors=(401, 403, 404, 409),
        media=tuple(rules.PHOTO_TYPES),
    ),
)
INPUTS = (
    PlanFields,
    AddSessionFields,
    CancelSessionIn,
    AssessmentFields,
    CorrectionFields,
    PhotoUpload,
)
OUTPUTS = (
    CourseUnitOut,
    DoseOut,
    SessionOut,
    PhotoOut,
    AssessmentOut,
    VisitOut,
    PlanOut,
    CourseOut,
    PatientCourseOut,
)
