"""Appointments: a clinician books, moves and cancels collection and injection
appointments for their own patients.

Scheduling, not custody: appointments are not ledger entries (they record no material's
whereabouts), but every row keeps who booked it and when it last changed. Refusals are
the usual service errors: an unknown patient or appointment 404 (and so is one of a patient
the clinician may not see, decision 61), a patient they see but do not treat 403, a bad kind, time or unit 422 (with the field), a double booking or a change to an
appointment no longer booked 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select

from ...db import transaction
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.readiness import ON_BOARD
from ...domain.roles import Role
from ...domain.status import Status
from ...extensions import db
from ...models import Appointment, Patient, Unit, User
from ...models.types import utcnow
from .. import access

# How far ahead a booking may be: a typo of a year is refused rather than booked.
HORIZON = timedelta(days=366)
Notes = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]


class BookingFields(BaseModel):
    """What a booking records; ``scheduled_at`` carries its zone (forms send the site's)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["collection", "injection"] = Field(description="collection or injection")
    scheduled_at: datetime = Field(description="when, with a time zone (stored in UTC)")
    unit_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="injection only: the product meant (optional)"
    )
    notes: Notes | None = None


class MoveFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: datetime = Field(description="the new time, with a time zone")


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("the booking must be an object of fields", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str) -> Invalid:
    return Invalid(
        f"invalid data — {field}: {message}", code="invalid_fields", fields={field: message}
    )


def _check_time(moment: datetime, now: datetime) -> datetime:
    if moment.tzinfo is None:
        raise _bad("scheduled_at", "give the time with its zone (e.g. 2026-12-01T09:30:00+01:00)")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _bad("scheduled_at", "not a date this calendar can hold") from None
    if moment <= now:
        raise _bad("scheduled_at", "the time is in the past; book a time still to come")
    if moment > now + HORIZON:
        raise _bad("scheduled_at", "more than a year ahead; check the date")
    return moment


def get_patient(patient_id: object, viewer: User) -> Patient:
    """The patient with this id, if ``viewer`` may see them; anything that cannot be an id,
    and a patient they may not see, is simply not found."""
    return access.require_patient(viewer, patient_id)


def may_book(patient: Patient, actor: User) -> bool:
    return actor.role == Role.CLINICIAN and patient.clinician_id == actor.id


def require_own(patient: Patient, actor: User) -> None:
    if actor.role != Role.CLINICIAN:
        raise Forbidden("only the patient's clinician books appointments", code="role_not_allowed")
    if patient.clinician_id != actor.id:
        raise Forbidden(
            f"{patient.name} is not your patient; only their treating clinician books for them",
            code="not_your_patient",
        )


def _check_unit(patient: Patient, fields: BookingFields) -> None:
    if fields.unit_id is None:
        return
    if fields.kind != "injection":
        raise _bad("unit_id", "only an injection names a product")
    unit = db.session.get(Unit, fields.unit_id)
    if unit is None or unit.patient_id != patient.id:
        raise _bad("unit_id", f"{patient.name} has no unit with id {fields.unit_id}")
    if unit.kind.is_source:
        raise _bad("unit_id", "name the product to inject, not the source sample")
    if Status(unit.status) not in ON_BOARD:
        raise _bad("unit_id", f"that product is {Status(unit.status).label}; it cannot be injected")


def book(patient_id: object, data: Mapping[str, Any] | None, actor: User) -> Appointment:
    """Book an appointment for one of the actor's own patients."""
    patient = get_patient(patient_id, actor)
    require_own(patient, actor)
    fields: BookingFields = _validated(BookingFields, data)
    now = utcnow()
    when = _check_time(fields.scheduled_at, now)
    with transaction():
        _check_unit(patient, fields)
        twin = db.session.scalar(
            select(Appointment.id).where(
                Appointment.patient_id == patient.id,
                Appointment.kind == fields.kind,
                Appointment.scheduled_at == when,
                Appointment.status == "booked",
            )
        )
        if twin is not None:
            raise Conflict(
                f"{patient.name} already has this {fields.kind} appointment booked at that time",
                code="already_booked",
            )
        appointment = Appointment(
            patient_id=patient.id,
            clinician_id=actor.id,
            kind=fields.kind,
            scheduled_at=when,
            unit_id=fields.unit_id,
            status="booked",
            notes=fields.notes or None,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        db.session.add(appointment)
        db.session.flush()
    return appointment


def get_appointment(
    appointment_id: object, viewer: User, patient_id: object | None = None
) -> Appointment:
    """The appointment, if ``viewer`` may see its patient (otherwise not found, in the same
    words as an unknown one)."""
    if isinstance(appointment_id, str) and appointment_id.isascii() and appointment_id.isdigit():
        appointment_id = int(appointment_id)
    if (
        isinstance(appointment_id, bool)
        or not isinstance(appointment_id, int)
        or not 0 < appointment_id <= MAX_ID
    ):
        raise NotFound(f"no appointment with id {str(appointment_id)[:40]!r}")
    appointment = db.session.get(Appointment, appointment_id)
    if (
        appointment is None
        or (patient_id is not None and str(appointment.patient_id) != str(patient_id))
        or not access.may_see_patient(viewer, appointment.patient_id)
    ):
        raise NotFound(f"no appointment with id {appointment_id} for this patient")
    return appointment


def _changeable(appointment_id: object, actor: User, patient_id: object | None) -> Appointment:
    """The appointment, locked for this transaction, if the actor may change it now."""
    appointment = get_appointment(appointment_id, actor, patient_id)
    db.session.refresh(appointment, with_for_update=True)
    require_own(appointment.patient, actor)
    if appointment.status != "booked":
        raise Conflict(
            f"this appointment is {appointment.status}; only a booked one can be changed",
            code="not_booked",
        )
    return appointment


def move(
    appointment_id: object,
    data: Mapping[str, Any] | None,
    actor: User,
    *,
    patient_id: object | None = None,
) -> Appointment:
    """Move a booked appointment to another time still to come."""
    fields: MoveFields = _validated(MoveFields, data)
    now = utcnow()
    when = _check_time(fields.scheduled_at, now)
    with transaction():
        appointment = _changeable(appointment_id, actor, patient_id)
        appointment.scheduled_at = when
        appointment.updated_at = now
    return appointment


def cancel(appointment_id: object, actor: User, *, patient_id: object | None = None) -> Appointment:
    """Cancel a booked appointment (it stays on record, as cancelled)."""
    with transaction():
        appointment = _changeable(appointment_id, actor, patient_id)
        appointment.status = "cancelled"
        appointment.updated_at = utcnow()
    return appointment


# An appointment may be marked done from this long before its time (the patient is early).
DONE_FROM = timedelta(hours=2)


def complete(
    appointment_id: object, actor: User, *, patient_id: object | None = None
) -> Appointment:
    """The appointment took place: it leaves the board and reads "done" on the patient page."""
    with transaction():
        appointment = _changeable(appointment_id, actor, patient_id)
        now = utcnow()
        if appointment.scheduled_at - DONE_FROM > now:
            raise Conflict(
                "this appointment is still to come; it can be marked done from two hours "
                "before its time",
                code="not_yet",
            )
        appointment.status = "done"
        appointment.updated_at = now
    return appointment


def of_patient(patient: Patient) -> list[Appointment]:
    """Every appointment of the patient, soonest first (cancelled ones too)."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.scheduled_at, Appointment.id)
        )
    )
