"""The treatment course on the ``api`` blueprint (docs/treatment.md): a patient's whole course, plans
and sessions, outcome assessments with corrections and photographs. Thin like the other
routes: ``services.actions.treatment`` and ``services.clinic.outcomes`` decide, and
``services.audit.course`` reads the course whole, as the page does."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..domain import treatment as rules
from ..domain.errors import Invalid, ServiceError
from ..domain.roles import Role
from ..models import AssessmentPhoto, OutcomeAssessment, TreatmentSession, Unit, User
from ..security import roles_required
from ..services.actions import treatment
from ..services.audit import course
from ..services.clinic import outcomes
from . import bp
from .body import WrongContentType, json_object
from .respond import json_response
from .schemas import PersonOut
from .treatment_doc import (
    AssessmentOut,
    CourseOut,
    CourseUnitOut,
    DoseOut,
    PatientCourseOut,
    PhotoOut,
    PlanOut,
    SessionOut,
    VisitOut,
)

ANYONE = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)  # who may see the patient
PHOTO_FIELDS = ("view", "photo")
BODY_CAP = rules.PHOTO_MAX_BYTES + 64 * 1024


class TooLarge(ServiceError):
    http_status, code = 413, "too_large"


def _actor() -> User:
    return current_user._get_current_object()


def _person(user: User) -> PersonOut:
    return PersonOut(id=user.id, name=user.full_name)


def _unit(u: Unit) -> CourseUnitOut:
    return CourseUnitOut(
        id=u.id,
        din=u.din,
        product_code=u.product_code,
        division=u.division,
        unit_type=u.unit_type,
        status=u.status,
    )


def _session(s: TreatmentSession) -> SessionOut:
    dose = None
    if s.dose_volume_ml is not None:
        dose = DoseOut(
            basis=s.dose_basis,
            volume_ml=s.dose_volume_ml,
            count=s.dose_count,
            per_ml=s.dose_per_ml,
            words=course.dose_words(s) or "",
        )
    return SessionOut(
        id=s.id,
        number=s.number,
        kind=s.kind,
        product_type=s.product_type,
        planned_at=s.planned_at,
        status=s.status,
        appointment_id=s.appointment_id,
        product=_unit(s.unit) if s.unit else None,
        administered_at=s.administered_at,
        dose=dose,
    )


def photo_out(p: AssessmentPhoto) -> PhotoOut:
    return PhotoOut(
        id=p.id,
        assessment_id=p.assessment_id,
        view=p.view,
        content_type=p.content_type,
        size=p.size,
        sha256=p.sha256,
        uploaded_at=p.uploaded_at,
    )


def assessment_out(a: OutcomeAssessment, photos: list[AssessmentPhoto] | None = None):
    if photos is None:
        photos = outcomes.photos_of([a.id]).get(a.id, [])
    return AssessmentOut(
        id=a.id,
        plan_id=a.plan_id,
        visit=a.visit,
        assessed_at=a.assessed_at,
        hair_count=a.hair_count,
        area_cm2=a.area_cm2,
        density_per_cm2=a.density_per_cm2,
        terminal_vellus_ratio=a.terminal_vellus_ratio,
        shaft_diameter_um=a.shaft_diameter_um,
        investigator_global=a.investigator_global,
        patient_global=a.patient_global,
        satisfaction=a.satisfaction,
        adverse_events=a.adverse_events,
        notes=a.notes,
        corrects_id=a.corrects_id,
        reason=a.reason,
        recorded_by=_person(a.recorded_by),
        recorded_at=a.recorded_at,
        photos=[photo_out(p) for p in photos],
    )


def _visit(v: course.VisitView) -> VisitOut:
    def out(row: OutcomeAssessment) -> AssessmentOut:
        return assessment_out(row, [p for p in v.all_photos if p.assessment_id == row.id])

    return VisitOut(
        visit=v.visit.key,
        label=v.visit.label,
        months=v.visit.months,
        due_on=v.due_on,
        state=v.state,
        assessment=out(v.assessment) if v.assessment else None,
        corrections=[out(row) for row in v.earlier],
        density_change_per_cm2=v.density_change,
        density_change_percent=v.density_change_pct,
    )


def plan_out(view: course.PlanView) -> PlanOut:
    p = view.plan
    return PlanOut(
        id=p.id,
        patient_id=p.patient_id,
        course=p.course_code,
        indication=p.indication,
        indication_label=rules.INDICATIONS[p.indication].name,
        stage_scale=p.stage_scale,
        stage=p.stage,
        maintenance_months=p.maintenance_months,
        notes=p.notes,
        clinician=_person(p.clinician),
        created_at=p.created_at,
        sessions=[_session(s) for s in p.sessions],
        visits=[_visit(v) for v in view.visits],
    )


def _plan_answer(plan_id: int, status: int = 200):
    view = course.plan_of(plan_id, _actor())
    location = url_for("api.get_treatment_plan", plan_id=view.plan.id)
    return json_response(plan_out(view), status, Location=location)


@bp.get("/patients/<id:patient_id>/course")
@roles_required(*ANYONE)
def patient_course(patient_id: int):
    found = course.of_patient(patient_id, _actor())
    return json_response(
        PatientCourseOut(
            patient_id=found.patient.id,
            mrn=found.patient.mrn,
            courses=[
                CourseOut(
                    code=c.course.code,
                    started_at=c.course.started_at,
                    site=c.course.site.name if c.course.site else None,
                    units=[_unit(u) for u in c.units],
                    plan=plan_out(c.plan) if c.plan else None,
                )
                for c in found.courses
            ],
        )
    )


@bp.post("/patients/<id:patient_id>/treatment-plans")
@roles_required(Role.CLINICIAN)
def create_treatment_plan(patient_id: int):
    plan = treatment.create_plan(patient_id, json_object(), _actor())
    return _plan_answer(plan.id, 201)


@bp.get("/treatment-plans/<id:plan_id>")
@roles_required(*ANYONE)
def get_treatment_plan(plan_id: int):
    return _plan_answer(plan_id)


@bp.post("/treatment-plans/<id:plan_id>/sessions")
@roles_required(Role.CLINICIAN)
def add_treatment_session(plan_id: int):
    treatment.add_session(plan_id, json_object(), _actor())
    return _plan_answer(plan_id, 201)


@bp.post("/treatment-plans/<id:plan_id>/sessions/<id:session_id>/cancel")
@roles_required(Role.CLINICIAN)
def cancel_treatment_session(plan_id: int, session_id: int):
    body = json_object()
    unknown = sorted(set(body) - {"reason"})
    if unknown:
        fields = {name: "unknown field; the body is {reason}" for name in unknown}
        raise Invalid(f"invalid data — {', '.join(unknown)}: unknown field", fields=fields)
    treatment.cancel_session(plan_id, session_id, body.get("reason"), _actor())
    return _plan_answer(plan_id)


@bp.post("/treatment-plans/<id:plan_id>/assessments")
@roles_required(Role.CLINICIAN)
def record_assessment(plan_id: int):
    row = outcomes.record(plan_id, json_object(), _actor())
    return json_response(assessment_out(row, []), 201)


@bp.post("/assessments/<id:assessment_id>/corrections")
@roles_required(Role.CLINICIAN)
def correct_assessment(assessment_id: int):
    row = outcomes.correct(assessment_id, json_object(), _actor())
    return json_response(assessment_out(row, []), 201)


def _photo_form() -> tuple[str | None, bytes, str | None]:
    """The multipart body: view and photo, each once, nothing else (415, 413, 422)."""
    request.max_content_length = BODY_CAP
    if request.mimetype != "multipart/form-data":
        raise WrongContentType(
            "send the photograph as multipart/form-data with the fields view and photo",
            code="wrong_content_type",
        )
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise TooLarge("the photograph is too large", fields={"photo": "too large"}) from None
    names = [*form.keys(), *files.keys()]
    problems = {n: "unknown field; the fields are view and photo" for n in names}
    for name in PHOTO_FIELDS:
        problems.pop(name, None)
        if len(form.getlist(name)) + len(files.getlist(name)) > 1:
            problems[name] = "give this field once"
    if "photo" not in files and "photo" not in form:
        problems.setdefault("photo", "attach the image file")
    if problems:
        raise Invalid(
            f"invalid form: {', '.join(sorted(problems))}", code="invalid_fields", fields=problems
        )
    if "photo" in files:
        upload = files["photo"]
        content, kind = upload.read(rules.PHOTO_MAX_BYTES + 1), upload.mimetype
    else:  # a client that sent the bytes as a plain field: the service judges them
        content, kind = form["photo"].encode("utf-8", "surrogatepass"), ""
    if kind not in rules.PHOTO_TYPES:  # a client that did not name the part's type
        kind = next((t for t, m in outcomes.MAGIC.items() if content.startswith(m)), kind)
    return form.get("view"), content, kind


@bp.post("/assessments/<id:assessment_id>/photos")
@roles_required(Role.CLINICIAN)
def add_assessment_photo(assessment_id: int):
    view, content, content_type = _photo_form()
    photo = outcomes.add_photo(assessment_id, view, content, content_type, _actor())
    location = url_for("api.get_assessment_photo", photo_id=photo.id)
    return json_response(photo_out(photo), 201, Location=location)


@bp.get("/photos/<id:photo_id>")
@roles_required(*ANYONE)
def get_assessment_photo(photo_id: int):
    photo, content = outcomes.read_photo(photo_id, _actor())
    response = Response(content, mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{photo.sha256}"'
    return response
