"""Treatment plans and their sessions (decision 111): what a therapy course is for,
the sessions planned (initial, a series, maintenance every N months) and, once a product is
given, which session it was and the dose, computed from the product's QC.

The patient's own clinician plans (as they book appointments); whoever may see the patient
reads. Every change is a ledger entry without a unit (the plan is not material), citing the
patient and the course; the administration itself stays the product's ``administer`` entry,
which now carries the dose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...db import transaction
from ...domain import treatment as rules
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.fields import NEW_COURSE
from ...domain.identifiers import CodeError, parse_chain_of_identity
from ...domain.roles import Role
from ...extensions import db
from ...models import Appointment, Patient, QcResult, TreatmentPlan, TreatmentSession, Unit, User
from ...models.types import utcnow
from .. import access
from ..admin import sites
from ..custody import ledger
from . import courses
from .qc import current_results, results_of

# A session is planned from a day ago (entered after the fact the same day) to five years on;
# one within a year books its injection appointment (as far ahead as a booking may be).
EARLIEST = timedelta(days=1)
LATEST = timedelta(days=5 * 366)
BOOKING_HORIZON = timedelta(days=366)
Notes = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]


class SessionFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal[rules.SESSION_KINDS] = Field(  # type: ignore[valid-type]
        description="initial, series (one of a PRP series) or maintenance"
    )
    product_type: Literal[rules.SESSION_PRODUCTS] = Field(  # type: ignore[valid-type]
        description="the product the session gives: a product type of the catalogue"
    )
    planned_at: datetime = Field(description="when, with a time zone (stored in UTC)")


class PlanFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    course: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None,
        description="the therapy course planned: one of the patient's chain-of-identity "
        "identifiers, or 'new' (left out: the patient's latest course, or a new one)",
    )
    indication: Literal[tuple(rules.INDICATIONS)] = Field(  # type: ignore[valid-type]
        description="what is treated"
    )
    stage_scale: Literal[tuple(rules.SCALES)] | None = Field(  # type: ignore[valid-type]
        None, description="the staging scale (one that fits the indication)"
    )
    stage: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="the stage on that scale"
    )
    maintenance_months: int | None = Field(
        None, ge=1, le=24, description="maintenance every N months, if planned"
    )
    notes: Notes | None = None
    sessions: list[SessionFields] = Field(
        min_length=1, max_length=24, description="the sessions planned, in order"
    )


class AddSessionFields(SessionFields):
    pass


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("the plan must be an object of fields", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str) -> Invalid:
    return Invalid(
        f"invalid data — {field}: {message}", code="invalid_fields", fields={field: message}
    )


def _check_stage(fields: PlanFields) -> None:
    indication = rules.INDICATIONS[fields.indication]
    if fields.stage_scale is None:
        if fields.stage:
            raise _bad("stage_scale", "name the scale the stage is on")
        return
    if fields.stage_scale not in indication.scales:
        fitting = ", ".join(rules.SCALES[s].name for s in indication.scales) or "none"
        raise _bad("stage_scale", f"{indication.name} is staged on: {fitting}")
    scale = rules.SCALES[fields.stage_scale]
    if fields.stage not in scale.stages:
        raise _bad("stage", f"a stage on {scale.name}: {', '.join(scale.stages)}")


def _planned_time(moment: datetime, now: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise _bad(field, "give the time with its zone (e.g. 2026-12-01T09:30:00+01:00)")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _bad(field, "not a date this calendar can hold") from None
    if moment < now - EARLIEST:
        raise _bad(field, "more than a day in the past; plan a time still to come")
    if moment > now + LATEST:
        raise _bad(field, "more than five years ahead; check the date")
    return moment


def _course_for(patient: Patient, requested: str | None, actor: User, now: datetime):
    if requested is not None and requested.lower() != NEW_COURSE:
        try:
            requested = parse_chain_of_identity(requested)
        except CodeError as exc:
            raise _bad("course", exc.message) from None
    elif requested is not None:
        requested = NEW_COURSE
    site = sites.collecting_site(actor, None)
    course, _ = courses.assign(patient, requested, site, actor, now)
    return course


def _book(patient: Patient, session: TreatmentSession, actor: User, now: datetime) -> None:
    """A planned session within the booking horizon books its injection appointment."""
    if not now < session.planned_at <= now + BOOKING_HORIZON:
        return
    appointment = Appointment(
        patient_id=patient.id,
        clinician_id=actor.id,
        kind="injection",
        scheduled_at=session.planned_at,
        status="booked",
        notes=f"Session {session.number} ({session.kind}, {session.product_type})",
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(appointment)
    db.session.flush()
    session.appointment_id = appointment.id


def _session_data(session: TreatmentSession) -> dict[str, Any]:
    return {
        "number": session.number,
        "kind": session.kind,
        "product_type": session.product_type,
        "planned_at": session.planned_at.isoformat(),
        "appointment_id": session.appointment_id,
    }


def _patient(patient_id: object, viewer: User) -> Patient:
    """A patient ``viewer`` may see; to anyone else no such patient (decision 61)."""
    return access.require_patient(viewer, patient_id)


def _require_own(patient: Patient, actor: User) -> None:
    """Only the patient's treating clinician plans their treatment (as they book for them)."""
    if actor.role != Role.CLINICIAN:
        raise Forbidden("only the patient's clinician plans treatment", code="role_not_allowed")
    if patient.clinician_id != actor.id:
        raise Forbidden(
            f"{patient.name} is not your patient; only their treating clinician plans for them",
            code="not_your_patient",
        )


def _record(action: str, plan: TreatmentPlan, actor: User, at: datetime, **data: Any) -> None:
    ledger.append(
        unit=None,
        action=action,
        actor=actor,
        movement=ledger.movement_of(None),
        data={
            "patient_id": plan.patient_id,
            "plan_id": plan.id,
            "course": plan.course_code,
            **data,
        },
        at=at,
    )


def create_plan(patient_id: object, data: Mapping[str, Any] | None, actor: User) -> TreatmentPlan:
    """The patient's clinician plans a therapy course: indication, stage, sessions."""
    patient = _patient(patient_id, actor)
    _require_own(patient, actor)
    fields: PlanFields = _validated(PlanFields, data)
    _check_stage(fields)
    now = utcnow()
    times = [
        _planned_time(s.planned_at, now, f"sessions.{i}.planned_at")
        for i, s in enumerate(fields.sessions)
    ]
    with transaction():
        course = _course_for(patient, fields.course, actor, now)
        taken = db.session.scalar(
            select(TreatmentPlan.id).where(TreatmentPlan.course_code == course.code)
        )
        if taken is not None:
            raise Conflict(
                f"therapy course {course.code} already has a plan: add sessions to it, or "
                "start a new course",
                code="course_planned",
                fields={"course": "already planned"},
            )
        plan = TreatmentPlan(
            patient_id=patient.id,
            course_code=course.code,
            indication=fields.indication,
            stage_scale=fields.stage_scale,
            stage=fields.stage,
            clinician_id=actor.id,
            maintenance_months=fields.maintenance_months,
            notes=fields.notes or None,
            created_by_id=actor.id,
            created_at=now,
        )
        db.session.add(plan)
        db.session.flush()
        made = []
        for number, (session_fields, when) in enumerate(
            sorted(zip(fields.sessions, times, strict=True), key=lambda pair: pair[1]), start=1
        ):
            session = TreatmentSession(
                plan_id=plan.id,
                number=number,
                kind=session_fields.kind,
                product_type=session_fields.product_type,
                planned_at=when,
                status="planned",
            )
            db.session.add(session)
            db.session.flush()
            _book(patient, session, actor, now)
            made.append(session)
        _record(
            "plan_treatment",
            plan,
            actor,
            now,
            indication=plan.indication,
            stage_scale=plan.stage_scale,
            stage=plan.stage,
            maintenance_months=plan.maintenance_months,
            notes=plan.notes,
            sessions=[_session_data(s) for s in made],
        )
    return plan


def add_session(plan_id: object, data: Mapping[str, Any] | None, actor: User) -> TreatmentSession:
    """One more session for a plan (a maintenance treatment, another of the series)."""
    plan = get_plan(plan_id, actor)
    _require_own(plan.patient, actor)
    fields: AddSessionFields = _validated(AddSessionFields, data)
    now = utcnow()
    when = _planned_time(fields.planned_at, now, "planned_at")
    with transaction():
        last = max((s.number for s in plan.sessions), default=0)
        session = TreatmentSession(
            plan_id=plan.id,
            number=last + 1,
            kind=fields.kind,
            product_type=fields.product_type,
            planned_at=when,
            status="planned",
        )
        db.session.add(session)
        db.session.flush()
        _book(plan.patient, session, actor, now)
        _record("plan_session", plan, actor, now, session=_session_data(session))
    return session


def cancel_session(
    plan_id: object, session_id: object, reason: object, actor: User
) -> TreatmentSession:
    plan = get_plan(plan_id, actor)
    _require_own(plan.patient, actor)
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise _bad("reason", "say why the session is cancelled (3 characters at least)")
    session = next((s for s in plan.sessions if str(s.id) == str(session_id)), None)
    if session is None:
        raise NotFound("the plan has no such session", code="unknown_session")
    if session.status != "planned":
        raise Conflict(f"session {session.number} is {session.status}", code="not_planned")
    now = utcnow()
    with transaction():
        session.status = "cancelled"
        if session.appointment is not None and session.appointment.status == "booked":
            session.appointment.status = "cancelled"
            session.appointment.updated_at = now
        _record("cancel_session", plan, actor, now, session=session.number, reason=reason.strip())
    return session


def get_plan(plan_id: object, viewer: User) -> TreatmentPlan:
    """A plan of a patient ``viewer`` may see (else not found)."""
    plan = None
    if isinstance(plan_id, int) or (isinstance(plan_id, str) and plan_id.isdigit()):
        plan = db.session.get(TreatmentPlan, int(plan_id))
    if plan is None:
        raise NotFound("no such treatment plan", code="unknown_plan")
    _patient(plan.patient_id, viewer)  # 404 to whoever may not see them
    return plan


def plans_of(patient: Patient) -> list[TreatmentPlan]:
    return list(
        db.session.scalars(
            select(TreatmentPlan)
            .where(TreatmentPlan.patient_id == patient.id)
            .options(selectinload(TreatmentPlan.sessions))
            .order_by(TreatmentPlan.created_at.desc(), TreatmentPlan.id.desc())
        )
    )


# ---------------------------------------------------------------------------- the dose given


@dataclass(frozen=True)
class Dose:
    basis: str
    volume_ml: float
    count: int | None
    per_ml: float | None
    missing: str | None = None

    def recorded(self) -> dict[str, Any]:
        data: dict[str, Any] = {"basis": self.basis, "volume_ml": self.volume_ml}
        if self.missing:
            data["missing"] = self.missing
        else:
            data.update({"count": self.count, "per_ml": self.per_ml})
        return data


def _volume_when_measured(tested: Unit, result: QcResult) -> float:
    """The tested unit's volume when the result was recorded: what it holds now plus the
    aliquots split from it since (splitting is the only thing that takes volume away)."""
    later = db.session.scalars(
        select(Unit.volume_ml).where(
            Unit.parent_id == tested.id,
            Unit.product_code == tested.product_code,
            Unit.created_at > result.recorded_at,
        )
    )
    return float(tested.volume_ml) + sum(float(v) for v in later)


def dose_of(unit: Unit, given_ml: float) -> Dose | None:
    """What ``given_ml`` of the product holds, from its current QC result (``None`` for a unit
    whose type has no dose basis)."""
    basis = rules.DOSE_BASIS.get(unit.unit_type)
    if basis is None:
        return None
    result = current_results(results_of(unit)).get(basis)
    if result is None or result.value_number is None:
        return Dose(basis, given_ml, None, None, missing=f"no {basis} result on record")
    tested = db.session.get(Unit, result.unit_id)
    volume = _volume_when_measured(tested, result) if tested else float(unit.volume_ml)
    count, per_ml = rules.dose(basis, float(result.value_number), volume, given_ml)
    return Dose(basis, given_ml, count, per_ml)


def record_administration(unit: Unit, given_ml: float, at: datetime) -> dict[str, Any]:
    """Called inside the ``administer`` transaction: the dose, and the session of the unit's
    course it fills (the first planned session for this product type, else a session added
    as given). Returns what the ledger entry records."""
    recorded: dict[str, Any] = {}
    found = dose_of(unit, given_ml)
    if found is not None:
        recorded["dose"] = found.recorded()
    plan = (
        db.session.scalar(
            select(TreatmentPlan).where(TreatmentPlan.course_code == unit.chain_of_identity)
        )
        if unit.chain_of_identity
        else None
    )
    if plan is None:
        return recorded
    session = next(
        (s for s in plan.sessions if s.status == "planned" and s.product_type == unit.unit_type),
        None,
    )
    if session is None:
        done_before = any(s.status == "done" for s in plan.sessions)
        session = TreatmentSession(
            plan_id=plan.id,
            number=max((s.number for s in plan.sessions), default=0) + 1,
            kind="maintenance" if done_before else "initial",
            product_type=unit.unit_type,
            planned_at=at,
        )
        db.session.add(session)
        plan.sessions.append(session)
    session.status = "done"
    session.unit_id = unit.id
    session.administered_at = at
    session.dose_volume_ml = given_ml
    if found is not None and found.count is not None:
        session.dose_count, session.dose_per_ml = found.count, found.per_ml
        session.dose_basis = found.basis
    if session.appointment is not None and session.appointment.status == "booked":
        session.appointment.status = "done"
        session.appointment.updated_at = at
    db.session.flush()
    recorded["session"] = {"plan_id": plan.id, "number": session.number, "kind": session.kind}
    return recorded


def course_of(patient_id: object, viewer: User) -> dict[str, Any]:
    """Everything of a patient's treatment: courses, plans, sessions with products and doses
    (``GET /api/v1/patients/<id>/course``); outcome assessments are added by the outcomes
    service."""
    patient = _patient(patient_id, viewer)
    plans = {p.course_code: p for p in plans_of(patient)}
    result = []
    for course, _count in courses.of_patient(patient.id):
        plan = plans.get(course.code)
        result.append({"course": course, "units": courses.units_of(course), "plan": plan})
    return {"patient": patient, "courses": result}
