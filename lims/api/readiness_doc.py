"""The OpenAPI operations and schemas of the readiness board and appointments; ``openapi`` joins them to the rest."""

from __future__ import annotations

from pydantic import BaseModel

from ..services.clinic.appointments import BookingFields, MoveFields
from . import rules_doc
from .operation import Operation
from .readiness_schemas import AppointmentOut, ReadinessOut, ReadinessQuery

BODY_ERRORS = (400, 415, 422)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/readiness",
        "readiness_board",
        "The caller's readiness board: their patients by next appointment, each live unit in "
        "plain words with its estimated ready time (from the lab's own history), the expiry it "
        "counts down to, READY, and warnings (QA and admin: ?clinician=<id>, or everyone's)",
        "ReadinessOut",
        query="ReadinessQuery",
        errors=(401, 403, 404, 422),
        links={"book_appointment": {"patient_id": "$response.body#/patients/0/id"}},
    ),
    Operation(
        "post",
        "/patients/{patient_id}/appointments",
        "book_appointment",
        "Book a collection or injection appointment for one of the caller's own patients "
        "(a time still to come, with its zone)",
        "AppointmentOut",
        201,
        request="BookingFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=rules_doc.BOOKING,
        links={
            name: {"appointment_id": "$response.body#/id"}
            for name in ("move_appointment", "cancel_appointment", "complete_appointment")
        },
    ),
    Operation(
        "post",
        "/appointments/{appointment_id}/move",
        "move_appointment",
        "Move a booked appointment of the caller's patient to another time still to come",
        "AppointmentOut",
        request="MoveFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=rules_doc.MOVE,
    ),
    Operation(
        "post",
        "/appointments/{appointment_id}/cancel",
        "cancel_appointment",
        "Cancel a booked appointment of the caller's patient (it stays on record)",
        "AppointmentOut",
        errors=(401, 403, 404, 409),
    ),
    Operation(
        "post",
        "/appointments/{appointment_id}/done",
        "complete_appointment",
        "Mark a booked appointment of the caller's patient done (from two hours before its "
        "time; earlier is 409 not_yet)",
        "AppointmentOut",
        errors=(401, 403, 404, 409),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (ReadinessQuery, BookingFields, MoveFields)
OUTPUTS: tuple[type[BaseModel], ...] = (ReadinessOut, AppointmentOut)
