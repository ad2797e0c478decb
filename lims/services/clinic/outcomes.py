"""Outcome assessments of a treatment plan (decision 112): the visits of the schedule,
what each measured, corrections that keep the original, the photographs (stored with their
SHA-256, checked when read), and the reminders beat sends when a visit is due or overdue.

The baseline is due at the course's first planned session; every later visit counts from the
day its first session was given. The patient's clinician records (as they plan); whoever may
see the patient reads. Each assessment, correction and photograph is a ledger entry without
a unit, citing the patient, the plan and the visit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...db import lock, transaction
from ...domain import treatment as rules
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.roles import Role
from ...extensions import db
from ...models import (
    AssessmentPhoto,
    OutcomeAssessment,
    OutcomeReminder,
    Patient,
    TreatmentPlan,
    User,
)
from ...models.types import utcnow
from ...notify.outbox import emit
from .. import access
from ..custody import ledger

Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]
GlobalScore = Annotated[int, Field(ge=-3, le=3, strict=True)]


class Measures(BaseModel):
    """What a visit measured: an assessment's fields and a correction's (a correction states
    every value again; the visit is the corrected one's)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    assessed_at: datetime | None = Field(None, description="when (default: now), with its zone")
    hair_count: int | None = Field(None, ge=0, le=5000, description="hairs in the target area")
    area_cm2: float | None = Field(
        None, ge=0.1, le=10, allow_inf_nan=False, description="the target area (default 1 cm²)"
    )
    terminal_vellus_ratio: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    shaft_diameter_um: float | None = Field(None, ge=5, le=200, allow_inf_nan=False)
    investigator_global: GlobalScore | None = Field(
        None, description="investigator's global assessment against baseline, −3 … +3"
    )
    patient_global: GlobalScore | None = Field(
        None, description="the patient's global assessment against baseline, −3 … +3"
    )
    satisfaction: int | None = Field(None, ge=1, le=5, strict=True, description="1 … 5")
    adverse_events: Text | None = Field(None, description="adverse events since the last visit")
    notes: Text | None = None


class AssessmentFields(Measures):
    visit: Annotated[str, StringConstraints(max_length=12)] = Field(
        description="the visit of the schedule: baseline, month_3, month_6, month_12 …"
    )


class CorrectionFields(Measures):
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
    ] = Field(description="why the recorded values are corrected")


MEASURED = (
    "hair_count",
    "terminal_vellus_ratio",
    "shaft_diameter_um",
    "investigator_global",
    "patient_global",
    "satisfaction",
)


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("the assessment must be an object of fields", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str) -> Invalid:
    return Invalid(
        f"invalid data — {field}: {message}", code="invalid_fields", fields={field: message}
    )


# ---------------------------------------------------------------------------- the schedule


def schedule() -> tuple[rules.Visit, ...]:
    return rules.visits(rules.parse_schedule(current_app.config["OUTCOME_SCHEDULE_MONTHS"]))


def _started(plan: TreatmentPlan) -> tuple[datetime | None, datetime | None]:
    """When the course's first session was planned, and when the first one was given."""
    planned = [s.planned_at for s in plan.sessions if s.status != "cancelled"]
    given = [s.administered_at for s in plan.sessions if s.administered_at is not None]
    return (min(planned) if planned else None), (min(given) if given else None)


@dataclass(frozen=True)
class VisitState:
    visit: rules.Visit
    due_on: date | None  # None: not scheduled yet (no session given)
    assessment: OutcomeAssessment | None  # the current one (the latest correction)
    history: list[OutcomeAssessment]  # every row of the visit, oldest first

    def state(self, today: date, overdue_days: int) -> str:
        if self.assessment is not None:
            return "done"
        if self.due_on is None:
            return "not_scheduled"
        if today > self.due_on + timedelta(days=overdue_days):
            return "overdue"
        return "due" if today >= self.due_on else "upcoming"


def _due_on(visit: rules.Visit, plan: TreatmentPlan) -> date | None:
    planned, given = _started(plan)
    if visit.months == 0:
        start = given or planned
        return start.date() if start else None
    return rules.add_months(given.date(), visit.months) if given else None


def visits_of(plan: TreatmentPlan) -> list[VisitState]:
    rows = list(
        db.session.scalars(
            select(OutcomeAssessment)
            .where(OutcomeAssessment.plan_id == plan.id)
            .order_by(OutcomeAssessment.id)
        )
    )
    states = []
    for visit in schedule():
        history = [r for r in rows if r.visit == visit.key]
        states.append(VisitState(visit, _due_on(visit, plan), _current(history), history))
    return states


def _current(history: list[OutcomeAssessment]) -> OutcomeAssessment | None:
    """The latest row of a visit: a correction supersedes what it corrects."""
    return history[-1] if history else None


# ---------------------------------------------------------------------------- recording


def _plan(plan_id: object, viewer: User) -> TreatmentPlan:
    plan = None
    if isinstance(plan_id, int) or (isinstance(plan_id, str) and plan_id.isdigit()):
        plan = db.session.get(TreatmentPlan, int(plan_id))
    if plan is None:
        raise NotFound("no such treatment plan", code="unknown_plan")
    access.require_patient(viewer, plan.patient_id)  # 404 to whoever may not see the patient
    return plan


def _require_own(patient: Patient, actor: User) -> None:
    if actor.role != Role.CLINICIAN:
        raise Forbidden("only the patient's clinician records outcomes", code="role_not_allowed")
    if patient.clinician_id != actor.id:
        raise Forbidden(
            f"{patient.name} is not your patient; their treating clinician records outcomes",
            code="not_your_patient",
        )


def _when(fields: Measures, now: datetime) -> datetime:
    if fields.assessed_at is None:
        return now
    if fields.assessed_at.tzinfo is None:
        raise _bad("assessed_at", "give the time with its zone")
    try:
        moment = fields.assessed_at.astimezone(UTC)
    except OverflowError:
        raise _bad("assessed_at", "not a date this calendar can hold") from None
    if moment > now + timedelta(minutes=5):
        raise _bad("assessed_at", "in the future")
    return moment


def _values(fields: Measures, visit: rules.Visit) -> dict[str, Any]:
    if all(getattr(fields, name) is None for name in MEASURED):
        raise _bad("hair_count", "record at least one measure or scale")
    if visit.months == 0:
        for name in ("investigator_global", "patient_global"):
            if getattr(fields, name) is not None:
                raise _bad(name, "a global assessment compares with baseline: none at baseline")
    area = fields.area_cm2 if fields.area_cm2 is not None else 1.0
    density = round(fields.hair_count / area, 1) if fields.hair_count is not None else None
    return {
        "hair_count": fields.hair_count,
        "area_cm2": area if fields.hair_count is not None else fields.area_cm2,
        "density_per_cm2": density,
        "terminal_vellus_ratio": fields.terminal_vellus_ratio,
        "shaft_diameter_um": fields.shaft_diameter_um,
        "investigator_global": fields.investigator_global,
        "patient_global": fields.patient_global,
        "satisfaction": fields.satisfaction,
        "adverse_events": fields.adverse_events or None,
        "notes": fields.notes or None,
    }


def _visit(key: str) -> rules.Visit:
    found = next((v for v in schedule() if v.key == key), None)
    if found is None:
        known = ", ".join(v.key for v in schedule())
        raise _bad("visit", f"a visit of the schedule: {known}")
    return found


def _record_entry(
    action: str, row: OutcomeAssessment, actor: User, values: dict[str, Any], **extra: Any
) -> None:
    ledger.append(
        unit=None,
        action=action,
        actor=actor,
        movement=ledger.movement_of(None),
        data={
            "patient_id": row.patient_id,
            "plan_id": row.plan_id,
            "assessment_id": row.id,
            "visit": row.visit,
            "assessed_at": row.assessed_at.isoformat(),
            **values,
            **extra,
        },
        reason=row.reason,
        at=row.recorded_at,
    )


def record(plan_id: object, data: Mapping[str, Any] | None, actor: User) -> OutcomeAssessment:
    """The patient's clinician records one visit's assessment (once; then it is corrected)."""
    plan = _plan(plan_id, actor)
    _require_own(plan.patient, actor)
    fields: AssessmentFields = _validated(AssessmentFields, data)
    visit = _visit(fields.visit)
    now = utcnow()
    when = _when(fields, now)
    values = _values(fields, visit)
    with transaction():
        lock(f"lims.outcomes.{plan.id}")  # two clinicians' submits: one records, one is told
        taken = db.session.scalar(
            select(OutcomeAssessment.id).where(
                OutcomeAssessment.plan_id == plan.id, OutcomeAssessment.visit == visit.key
            )
        )
        if taken is not None:
            raise Conflict(
                f"the {visit.label.lower()} visit is recorded already: correct it instead",
                code="already_assessed",
                fields={"visit": "recorded already"},
            )
        row = OutcomeAssessment(
            plan_id=plan.id,
            patient_id=plan.patient_id,
            visit=visit.key,
            months=visit.months,
            assessed_at=when,
            recorded_by_id=actor.id,
            recorded_at=now,
            **values,
        )
        db.session.add(row)
        db.session.flush()
        _record_entry("record_assessment", row, actor, values)
    return row


def correct(
    assessment_id: object, data: Mapping[str, Any] | None, actor: User
) -> OutcomeAssessment:
    """A corrected assessment: a new row citing the one it corrects, with the reason; the
    original stays as it was recorded."""
    original = _assessment(assessment_id, actor)
    plan = original.plan
    _require_own(plan.patient, actor)
    fields: CorrectionFields = _validated(CorrectionFields, data)
    visit = _visit(original.visit)
    now = utcnow()
    values = _values(fields, visit)
    with transaction():
        lock(f"lims.outcomes.{plan.id}")
        latest = db.session.scalar(
            select(OutcomeAssessment)
            .where(OutcomeAssessment.plan_id == plan.id, OutcomeAssessment.visit == visit.key)
            .order_by(OutcomeAssessment.id.desc())
            .limit(1)
        )
        if latest is not None and latest.id != original.id:
            raise Conflict(
                "this assessment was corrected already: correct the latest version",
                code="stale_assessment",
            )
        row = OutcomeAssessment(
            plan_id=plan.id,
            patient_id=plan.patient_id,
            visit=visit.key,
            months=visit.months,
            assessed_at=_when(fields, now) if fields.assessed_at else original.assessed_at,
            corrects_id=original.id,
            reason=fields.reason,
            recorded_by_id=actor.id,
            recorded_at=now,
            **values,
        )
        db.session.add(row)
        db.session.flush()
        _record_entry("correct_assessment", row, actor, values, corrects=original.id)
    return row


def _assessment(assessment_id: object, viewer: User) -> OutcomeAssessment:
    row = None
    if isinstance(assessment_id, int) or (
        isinstance(assessment_id, str) and assessment_id.isdigit()
    ):
        row = db.session.get(OutcomeAssessment, int(assessment_id))
    if row is None:
        raise NotFound("no such assessment", code="unknown_assessment")
    access.require_patient(viewer, row.patient_id)
    return row


# ---------------------------------------------------------------------------- photographs

MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


def _photo_dir() -> Path:
    path = Path(current_app.config["PHOTO_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def add_photo(
    assessment_id: object, view: object, content: bytes, content_type: object, actor: User
) -> AssessmentPhoto:
    """Store a visit's photograph in a standard view; its SHA-256 goes into the database and
    the ledger, so a file changed on disk afterwards is caught when read."""
    row = _assessment(assessment_id, actor)
    _require_own(row.plan.patient, actor)
    if view not in rules.PHOTO_VIEWS:
        raise _bad("view", f"one of: {', '.join(rules.PHOTO_VIEWS)}")
    if content_type not in rules.PHOTO_TYPES:
        raise _bad("photo", "a JPEG or PNG image")
    if not content:
        raise _bad("photo", "the file is empty")
    if len(content) > rules.PHOTO_MAX_BYTES:
        raise _bad("photo", f"at most {rules.PHOTO_MAX_BYTES // (1024 * 1024)} MB")
    if not content.startswith(MAGIC[content_type]):
        raise _bad("photo", f"the file is not a {content_type.split('/')[1].upper()} image")
    digest = hashlib.sha256(content).hexdigest()
    name = f"{digest}.{rules.PHOTO_TYPES[content_type]}"
    target = _photo_dir() / name
    if not target.exists():
        partial = target.with_suffix(".partial")
        partial.write_bytes(content)
        partial.replace(target)
    now = utcnow()
    with transaction():
        photo = AssessmentPhoto(
            assessment_id=row.id,
            view=view,
            content_type=content_type,
            size=len(content),
            sha256=digest,
            stored_as=name,
            uploaded_by_id=actor.id,
            uploaded_at=now,
        )
        db.session.add(photo)
        db.session.flush()
        ledger.append(
            unit=None,
            action="add_assessment_photo",
            actor=actor,
            movement=ledger.movement_of(None),
            data={
                "patient_id": row.patient_id,
                "plan_id": row.plan_id,
                "assessment_id": row.id,
                "visit": row.visit,
                "photo_id": photo.id,
                "view": view,
                "sha256": digest,
                "size": len(content),
            },
            at=now,
        )
    return photo


class PhotoAltered(Conflict):
    code = "photo_altered"


def read_photo(photo_id: object, viewer: User) -> tuple[AssessmentPhoto, bytes]:
    """The photograph's bytes, checked against the SHA-256 recorded when it was stored."""
    photo = None
    if isinstance(photo_id, int) or (isinstance(photo_id, str) and photo_id.isdigit()):
        photo = db.session.get(AssessmentPhoto, int(photo_id))
    if photo is None:
        raise NotFound("no such photograph", code="unknown_photo")
    _assessment(photo.assessment_id, viewer)
    path = _photo_dir() / photo.stored_as
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise PhotoAltered(
            f"the stored file of photograph {photo.id} is missing: tell QA", code="photo_missing"
        ) from None
    if hashlib.sha256(content).hexdigest() != photo.sha256:
        raise PhotoAltered(
            f"the stored file of photograph {photo.id} no longer matches the checksum recorded "
            f"when it was taken ({photo.sha256[:12]}…): it has been changed. Tell QA; it is not "
            "shown"
        )
    return photo, content


def photos_of(assessment_ids: list[int]) -> dict[int, list[AssessmentPhoto]]:
    if not assessment_ids:
        return {}
    found: dict[int, list[AssessmentPhoto]] = {}
    for photo in db.session.scalars(
        select(AssessmentPhoto)
        .where(AssessmentPhoto.assessment_id.in_(assessment_ids))
        .order_by(AssessmentPhoto.id)
    ):
        found.setdefault(photo.assessment_id, []).append(photo)
    return found


# ---------------------------------------------------------------------------- reminders


def remind(today: date | None = None) -> int:
    """Beat: tell each plan's clinician once when a visit comes due (``OUTCOME_DUE_NOTICE_DAYS``
    ahead) and once when it is overdue (``OUTCOME_OVERDUE_DAYS`` after) without an
    assessment. Returns how many reminders were sent."""
    config = current_app.config
    today = today or utcnow().date()
    notice = timedelta(days=config["OUTCOME_DUE_NOTICE_DAYS"])
    overdue = config["OUTCOME_OVERDUE_DAYS"]
    sent = {(r.plan_id, r.visit, r.kind) for r in db.session.scalars(select(OutcomeReminder))}
    written = 0
    for plan in db.session.scalars(select(TreatmentPlan).order_by(TreatmentPlan.id)):
        for state in visits_of(plan):
            if state.assessment is not None or state.due_on is None:
                continue
            kind = None
            if state.state(today, overdue) == "overdue":
                kind = "overdue"
            elif today >= state.due_on - notice:
                kind = "due"
            if kind is None or (plan.id, state.visit.key, kind) in sent:
                continue
            written += _remind(plan, state, kind)
    return written


def _remind(plan: TreatmentPlan, state: VisitState, kind: str) -> int:
    label = state.visit.label.lower()
    when = state.due_on.isoformat() if state.due_on else "—"
    try:
        with transaction():
            db.session.add(
                OutcomeReminder(
                    plan_id=plan.id, visit=state.visit.key, kind=kind, due_on=state.due_on
                )
            )
            db.session.flush()
            emit(
                f"assessment_{kind}",
                None,
                dedupe_key=f"assessment_{kind}:{plan.id}:{state.visit.key}",
                subject=f"patient {plan.patient.mrn}, {label} visit",
                message=(
                    f"The {label} outcome visit of course {plan.course_code} "
                    + ("is due on " if kind == "due" else "was due on ")
                    + when
                    + ("." if kind == "due" else " and has no assessment yet.")
                ),
                path=f"/patients/{plan.patient_id}/treatment",
                clinician_id=plan.clinician_id,
            )
    except IntegrityError:  # another beat sent it a moment ago
        db.session.rollback()
        return 0
    return 1
