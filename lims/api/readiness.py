"""The readiness board and appointments on the ``api`` blueprint.

``GET /readiness`` is the caller's board as JSON (QA and admin: a clinician's with
``?clinician=<id>``, or everyone's); appointments are booked for a patient and moved or
cancelled by the patient's clinician. Same services and rules as the pages.
"""

from __future__ import annotations

from flask_login import current_user

from ..domain.readiness import Warning
from ..domain.roles import Role
from ..models import Appointment
from ..pool import read_only
from ..security import roles_required
from ..services.clinic import appointments, readiness
from . import bp
from .body import json_object, query
from .readiness_schemas import (
    AppointmentOut,
    EstimateOut,
    NextSessionOut,
    PatientReadinessOut,
    ReadinessOut,
    ReadinessQuery,
    UnitReadinessOut,
    WarningOut,
)
from .respond import json_response
from .schemas import PersonOut


def appointment_out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=a.id,
        patient_id=a.patient_id,
        clinician_id=a.clinician_id,
        kind=a.kind,
        scheduled_at=a.scheduled_at,
        unit_id=a.unit_id,
        status=a.status,
        notes=a.notes,
    )


def _warnings(found: list[Warning]) -> list[WarningOut]:
    return [WarningOut(code=w.code, level=w.level, text=w.text) for w in found]


def _unit_out(line: readiness.UnitLine, board: readiness.Board) -> UnitReadinessOut:
    u, est = line.unit, line.estimate
    left = None
    if line.countdown_to is not None:
        left = max(int((line.countdown_to - board.generated_at).total_seconds()), 0)
    return UnitReadinessOut(
        id=u.id,
        parent_id=u.parent_id,
        label=u.label,
        type=u.unit_type,
        status=u.status,
        words=line.words,
        ready=line.ready,
        expires_at=u.expires_at,
        counts_down_to=line.countdown_to,
        seconds_left=left,
        expired=line.expired,
        estimate=EstimateOut(
            product_type=est.product_type,
            at=est.at,
            low=est.low,
            high=est.high,
            based_on=est.n,
            sure=est.sure,
            late=est.late,
            words=line.estimate_words or "",
        )
        if est is not None
        else None,
        appointment_id=line.appointment.id if line.appointment else None,
        warnings=_warnings(line.warnings),
    )


def _session_out(line: readiness.SessionLine | None) -> NextSessionOut | None:
    if line is None:
        return None
    s = line.session
    return NextSessionOut(
        id=s.id,
        plan_id=s.plan_id,
        number=s.number,
        kind=s.kind,
        product_type=s.product_type,
        planned_at=s.planned_at,
        course=line.course_code,
        product_ready=line.ready,
        ready_unit_id=line.ready_unit.id if line.ready_unit else None,
    )


@bp.get("/readiness")
@read_only
@roles_required(Role.CLINICIAN, Role.QA, Role.ADMIN)
def readiness_board():
    params = query(ReadinessQuery)
    board = readiness.board(current_user._get_current_object(), params.clinician)
    return json_response(
        ReadinessOut(
            generated_at=board.generated_at,
            clinician=PersonOut(id=board.clinician.id, name=board.clinician.full_name)
            if board.clinician
            else None,
            patients=[
                PatientReadinessOut(
                    id=row.patient.id,
                    name=row.patient.name,
                    mrn=row.patient.mrn,
                    next_appointment=appointment_out(row.next_appointment)
                    if row.next_appointment
                    else None,
                    next_session=_session_out(row.next_session),
                    appointments=[appointment_out(a) for a in row.appointments],
                    warnings=_warnings(row.warnings),
                    units=[_unit_out(line, board) for line in row.units],
                )
                for row in board.rows
            ],
            quiet=board.quiet,
            truncated=board.truncated,
        )
    )


@bp.post("/patients/<id:patient_id>/appointments")
@roles_required(Role.CLINICIAN)
def book_appointment(patient_id: int):
    booked = appointments.book(patient_id, json_object(), current_user._get_current_object())
    return json_response(appointment_out(booked), 201)


@bp.post("/appointments/<id:appointment_id>/move")
@roles_required(Role.CLINICIAN)
def move_appointment(appointment_id: int):
    moved = appointments.move(appointment_id, json_object(), current_user._get_current_object())
    return json_response(appointment_out(moved))


@bp.post("/appointments/<id:appointment_id>/done")
@roles_required(Role.CLINICIAN)
def complete_appointment(appointment_id: int):
    done = appointments.complete(appointment_id, current_user._get_current_object())
    return json_response(appointment_out(done))


@bp.post("/appointments/<id:appointment_id>/cancel")
@roles_required(Role.CLINICIAN)
def cancel_appointment(appointment_id: int):
    cancelled = appointments.cancel(appointment_id, current_user._get_current_object())
    return json_response(appointment_out(cancelled))
