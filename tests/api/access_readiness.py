"""The API route × role table's rows for the readiness routes: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own
({id}, {product}, {patient}, {location}, {job} …): name -> maker(users, role, unit)."""

from __future__ import annotations

from datetime import timedelta

from .access import Endpoint

VIEWERS = frozenset({"clinician", "qa", "admin"})
CLINICIAN = frozenset({"clinician"})


def _tomorrow() -> str:
    from lims.models.types import utcnow

    return (utcnow() + timedelta(days=1)).isoformat()


def an_appointment(users, role, unit) -> int:
    """An injection the clinician (who registered the unit) booked for its patient."""
    from lims.services.clinic import appointments

    booked = appointments.book(
        unit.patient.id, {"kind": "injection", "scheduled_at": _tomorrow()}, users["clinician"]
    )
    return booked.id


def a_due_appointment(users, role, unit) -> int:
    """A collection the clinician booked for half an hour from now: it may be marked done."""
    from lims.models.types import utcnow
    from lims.services.clinic import appointments

    soon = (utcnow() + timedelta(minutes=30)).isoformat()
    booked = appointments.book(
        unit.patient.id, {"kind": "collection", "scheduled_at": soon}, users["clinician"]
    )
    return booked.id


ENDPOINTS: dict[str, Endpoint] = {
    "api.readiness_board": Endpoint("GET", "/readiness", VIEWERS),
    # {patient}: the unit's patient, whose clinician is the test's clinician.
    "api.book_appointment": Endpoint(
        "POST",
        "/patients/{patient}/appointments",
        CLINICIAN,
        201,
        body=lambda: {"kind": "collection", "scheduled_at": _tomorrow()},
    ),
    "api.move_appointment": Endpoint(
        "POST",
        "/appointments/{appointment}/move",
        CLINICIAN,
        body=lambda: {"scheduled_at": _tomorrow()},
    ),
    "api.cancel_appointment": Endpoint(
        "POST", "/appointments/{appointment}/cancel", CLINICIAN, body=lambda: None
    ),
    "api.complete_appointment": Endpoint(
        "POST", "/appointments/{due}/done", CLINICIAN, body=lambda: None
    ),
}
ROWS: dict = {"appointment": an_appointment, "due": a_due_appointment}
