"""A patient's treatment course (docs/treatment.md): the plans with their sessions (the product given
and the dose in words), the outcome visits with their state, and one visit's page where the
clinician records the assessment, corrects it (the original struck through beside the
correction) and uploads photographs, shown side by side across visits.

Whoever may see the patient reads (``services.access``); only the patient's own clinician
gets the forms, and the services refuse everyone else. Times are typed in the site's zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain import treatment as rules
from ...domain.catalogue import CATALOGUE
from ...domain.errors import Forbidden, NotFound, ServiceError
from ...domain.roles import Role
from ...security import roles_required
from ...services.actions import treatment
from ...services.audit import course
from ...services.clinic import outcomes
from . import bp

PLAN_ROWS = 4  # session rows on the plan form (left blank: not planned)
INTEGERS = ("hair_count", "investigator_global", "patient_global", "satisfaction")
DECIMALS = ("area_cm2", "terminal_vellus_ratio", "shaft_diameter_um")
TEXTS = ("adverse_events", "notes")


def _me():
    return current_user._get_current_object()


def _zone() -> str:
    return current_app.config["TIMEZONE"]


def _local(text: str | None) -> str | None:
    """A datetime-local value read in the site's zone, as ISO 8601 with the zone; a value
    that is no time goes on as typed (the service names the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(_zone()))
    return moment.isoformat()


def _mine(patient) -> bool:
    return _me().role == Role.CLINICIAN and patient.clinician_id == _me().id


def _session_choices() -> dict[str, Any]:
    return {
        "kinds": rules.SESSION_KINDS,
        "products": [
            (key, CATALOGUE[key].name if key in CATALOGUE else key)
            for key in rules.SESSION_PRODUCTS
        ],
    }


def _page(patient_id: int, *, status: int = 200, error: str | None = None, **forms: Any):
    found = course.of_patient(patient_id, _me())
    return render_template(
        "patients/treatment.html",
        found=found,
        patient=found.patient,
        mine=_mine(found.patient),
        indications=rules.INDICATIONS,
        scales=rules.SCALES,
        plan_rows=PLAN_ROWS,
        dose_words=course.dose_words,
        error=error,
        errors=forms.pop("errors", {}),
        values=forms.pop("values", {}),
        failed=forms.pop("failed", None),
        **_session_choices(),
    ), status


def _plan_of_patient(patient_id: int, plan_id: int):
    plan = treatment.get_plan(plan_id, _me())
    if plan.patient_id != patient_id:
        raise NotFound("no such treatment plan", code="unknown_plan")
    return plan


@bp.route("/<id:patient_id>/treatment")
@roles_required()
def treatment_page(patient_id: int) -> ResponseReturnValue:
    return _page(patient_id)


def _plan_data(form) -> dict[str, Any]:
    sessions = []
    for i in range(PLAN_ROWS):
        kind = form.get(f"kind_{i}", "").strip()
        when = form.get(f"planned_at_{i}", "").strip()
        if not kind and not when:
            continue
        sessions.append(
            {
                "kind": kind,
                "product_type": form.get(f"product_type_{i}", "").strip(),
                "planned_at": _local(when),
            }
        )
    data: dict[str, Any] = {
        "indication": form.get("indication", "").strip(),
        "sessions": sessions,
    }
    for name in ("course", "stage_scale", "stage", "notes"):
        value = form.get(name, "").strip()
        if value:
            data[name] = value
    months = form.get("maintenance_months", "").strip()
    if months:
        data["maintenance_months"] = int(months) if months.isdigit() else months
    return data


@bp.route("/<id:patient_id>/treatment/plans", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def plan_new(patient_id: int) -> ResponseReturnValue:
    """POST plans a course; GET (a refused form's address opened again) is the page."""
    if request.method == "GET":
        return redirect(url_for("patients.treatment_page", patient_id=patient_id) + "#plan")
    try:
        plan = treatment.create_plan(patient_id, _plan_data(request.form), _me())
    except ServiceError as exc:
        if exc.http_status in (403, 404):
            raise
        return _page(
            patient_id,
            status=exc.http_status,
            error=f"Nothing was planned: {exc.message}",
            errors=exc.fields,
            values=request.form.to_dict(),
            failed="plan",
        )
    flash(f"Planned course {plan.course_code}: {len(plan.sessions)} session(s).", "success")
    return redirect(url_for("patients.treatment_page", patient_id=patient_id) + f"#plan-{plan.id}")


@bp.route("/<id:patient_id>/treatment/plans/<id:plan_id>/sessions", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def session_add(patient_id: int, plan_id: int) -> ResponseReturnValue:
    plan = _plan_of_patient(patient_id, plan_id)
    if request.method == "GET":
        return redirect(
            url_for("patients.treatment_page", patient_id=patient_id) + f"#plan-{plan.id}"
        )
    data = {
        "kind": request.form.get("kind", "").strip(),
        "product_type": request.form.get("product_type", "").strip(),
        "planned_at": _local(request.form.get("planned_at")),
    }
    try:
        added = treatment.add_session(plan.id, data, _me())
    except ServiceError as exc:
        if exc.http_status in (403, 404):
            raise
        return _page(
            patient_id,
            status=exc.http_status,
            error=f"No session was added: {exc.message}",
            errors=exc.fields,
            values=request.form.to_dict(),
            failed=f"session-{plan.id}",
        )
    flash(f"Session {added.number} planned.", "success")
    return redirect(url_for("patients.treatment_page", patient_id=patient_id) + f"#plan-{plan.id}")


@bp.route(
    "/<id:patient_id>/treatment/plans/<id:plan_id>/sessions/<id:session_id>/cancel",
    methods=["GET", "POST"],
)
@roles_required(Role.CLINICIAN)
def session_cancel(patient_id: int, plan_id: int, session_id: int) -> ResponseReturnValue:
    plan = _plan_of_patient(patient_id, plan_id)
    back = url_for("patients.treatment_page", patient_id=patient_id) + f"#plan-{plan.id}"
    if request.method == "GET":
        return redirect(back)
    try:
        cancelled = treatment.cancel_session(plan.id, session_id, request.form.get("reason"), _me())
    except ServiceError as exc:
        if exc.http_status in (403, 404):
            raise
        return _page(
            patient_id,
            status=exc.http_status,
            error=f"The session was not cancelled: {exc.message}",
        )
    flash(f"Session {cancelled.number} cancelled.", "success")
    return redirect(back)


# ---------------------------------------------------------------------------- one visit


def _measures(form) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in (*INTEGERS, *DECIMALS, *TEXTS):
        value = form.get(name, "").strip()
        if not value:
            continue
        if name in INTEGERS:
            try:
                data[name] = int(value)
            except ValueError:
                data[name] = value  # the service names the field
        elif name in DECIMALS:
            try:
                data[name] = float(value)
            except ValueError:
                data[name] = value
        else:
            data[name] = value
    when = _local(form.get("assessed_at"))
    if when:
        data["assessed_at"] = when
    return data


def _visit_view(plan, visit_key: str) -> tuple[course.PlanView, course.VisitView]:
    view = course.plan_view(plan)
    found = next((v for v in view.visits if v.key == visit_key), None)
    if found is None:
        raise NotFound("no such visit in the outcome schedule", code="unknown_visit")
    return view, found


def _visit_page(plan, visit_key: str, *, status: int = 200, **extra: Any):
    view, visit = _visit_view(plan, visit_key)
    return render_template(
        "patients/visit.html",
        patient=plan.patient,
        plan=plan,
        view=view,
        visit=visit,
        mine=_mine(plan.patient),
        measures=rules.MEASURES,
        global_scale=rules.GLOBAL_SCALE,
        satisfaction=rules.SATISFACTION,
        photo_views=rules.PHOTO_VIEWS,
        error=extra.get("error"),
        errors=extra.get("errors", {}),
        values=extra.get("values", {}),
    ), status


def _photo(assessment_id: int) -> str | None:
    """The photograph the form carries, stored on the assessment; None when none came."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    content = upload.read(rules.PHOTO_MAX_BYTES + 1)
    kind = upload.mimetype
    if kind not in rules.PHOTO_TYPES:
        kind = next((t for t, m in outcomes.MAGIC.items() if content.startswith(m)), kind)
    photo = outcomes.add_photo(assessment_id, request.form.get("view"), content, kind, _me())
    return photo.view


@bp.route(
    "/<id:patient_id>/treatment/plans/<id:plan_id>/visits/<visit_key>", methods=["GET", "POST"]
)
@roles_required()
def visit(patient_id: int, plan_id: int, visit_key: str) -> ResponseReturnValue:
    """One outcome visit: what was recorded (and corrected), the photographs; for the
    patient's clinician, the forms (op: record, correct, photo)."""
    plan = _plan_of_patient(patient_id, plan_id)
    if request.method == "GET":
        return _visit_page(plan, visit_key)
    if _me().role != Role.CLINICIAN:
        raise Forbidden("only the patient's clinician records outcomes", code="role_not_allowed")
    _, state = _visit_view(plan, visit_key)
    op = request.form.get("op")
    label = state.visit.label.lower()
    here = url_for("patients.visit", patient_id=patient_id, plan_id=plan.id, visit_key=visit_key)
    try:
        if op == "record":
            row = outcomes.record(plan.id, {"visit": visit_key, **_measures(request.form)}, _me())
            recorded = f"Recorded the {label} visit."
            try:
                view = _photo(row.id)
            except ServiceError as exc:
                flash(f"{recorded} The photograph was not stored: {exc.message}", "error")
                return redirect(here)
            flash(recorded + (f" Photograph ({view}) stored." if view else ""), "success")
        elif op == "correct":
            if state.assessment is None:
                raise ServiceError("nothing recorded to correct yet", code="nothing_to_correct")
            data = {**_measures(request.form), "reason": request.form.get("reason", "")}
            outcomes.correct(state.assessment.id, data, _me())
            flash(f"Corrected the {label} visit; the original is kept.", "success")
        elif op == "photo":
            if state.assessment is None:
                raise ServiceError("record the visit first, then add photographs")
            if _photo(state.assessment.id) is None:
                raise ServiceError("choose the image file to upload", fields={"photo": "required"})
            flash("Photograph stored.", "success")
        else:
            raise ServiceError("choose Record, Correct or Upload", code="unknown_operation")
    except ServiceError as exc:
        if exc.http_status in (403, 404):
            raise
        return _visit_page(
            plan,
            visit_key,
            status=exc.http_status,
            error=f"Nothing was saved: {exc.message}",
            errors=exc.fields,
            values=request.form.to_dict(),
        )
    return redirect(url_for("patients.treatment_page", patient_id=patient_id) + f"#plan-{plan.id}")


@bp.route("/<id:patient_id>/treatment/photos/<id:photo_id>")
@roles_required()
def photo(patient_id: int, photo_id: int) -> ResponseReturnValue:
    """The image, checked against its SHA-256; a changed file is refused (409), not shown."""
    try:
        found, content = outcomes.read_photo(photo_id, _me())
    except outcomes.PhotoAltered as exc:
        return Response(exc.message, 409, mimetype="text/plain")
    response = Response(content, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response
