"""The route × role table's rows for the readiness pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

from datetime import timedelta

ALL = {"technician", "clinician", "qa", "admin"}
VIEWERS = {"clinician", "qa", "admin"}  # the board: clinicians theirs, QA and admin anyone's

ROUTES: dict[str, tuple] = {
    "readiness.board": ("GET", "/readiness/", VIEWERS),
    "readiness.fragment": ("GET", "/readiness/fragment", VIEWERS),
    "patients.detail": ("GET", "/patients/{patient}", ALL),
    # The forms; POST books, moves or cancels (the patient's own clinician only).
    "patients.book": ("GET", "/patients/{patient}/appointments/new", {"clinician"}),
    "patients.appointment": (
        "GET",
        "/patients/{patient}/appointments/{appointment}",
        {"clinician"},
    ),
}


def an_appointment(users, owner, unit) -> int:
    """An injection booked by the clinician (who registered the unit) for its patient."""
    from lims.models.types import utcnow
    from lims.services.clinic import appointments

    when = (utcnow() + timedelta(days=1)).isoformat()
    booked = appointments.book(
        unit.patient.id, {"kind": "injection", "scheduled_at": when}, users["clinician"]
    )
    return booked.id


ROWS: dict = {"appointment": an_appointment}
