"""Demo adverse reactions (decision 113), reported through the real services on products the
demo history gave to the doctor's patients:

- one closed: a local reaction after an SVF injection, reported by the doctor, investigated
  by QA (two notes) and closed with QA's signed decision;
- one open: a moderate reaction after a more recent product, waiting in QA's inbox (urgent).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .extensions import db
from .models import Patient, Unit, User
from .models.types import utcnow
from .services.audit import adverse_reactions


def _given_to(doctor: User) -> list[Unit]:
    """The doctor's patients' products given, oldest first."""
    return list(
        db.session.scalars(
            select(Unit)
            .join(Patient, Patient.id == Unit.patient_id)
            .where(Unit.status == "administered", Patient.clinician_id == doctor.id)
            .where(Unit.administered_at.is_not(None))
            .order_by(Unit.administered_at, Unit.id)
        )
    )


def stock(doctor: User, qa: User, password: str) -> None:
    given = _given_to(doctor)
    if len(given) < 2:
        return
    older, newer = given[-2], given[-1]  # the two given last
    now = utcnow()
    closed = adverse_reactions.report(
        older.id,
        {
            "onset_at": min(older.administered_at + timedelta(hours=5), now).isoformat(),
            "description": "Erythema and swelling at the injection sites of the scalp, itching; "
            "cool compresses and an oral antihistamine; settled within 48 h.",
            "severity": "mild",
            "relation": "probable",
        },
        doctor,
    )
    for note in (
        "Batch record and QC reviewed: viability and sterility within specification, no "
        "deviation on the collection.",
        "Reaction matches the expected injection-site response; no other reaction on this lot.",
    ):
        adverse_reactions.add_note(closed.id, {"note": note}, qa)
    adverse_reactions.close(
        closed.id,
        {
            "outcome": "Expected local injection-site reaction, probably related to the "
            "procedure, not to a product defect. No action on the lot; no report to FDA required.",
            "password": password,
            "meaning": "reviewed",
        },
        qa,
    )
    adverse_reactions.report(
        newer.id,
        {
            "onset_at": min(newer.administered_at + timedelta(days=1), now).isoformat(),
            "description": "Headache and low-grade fever (38.1 °C) the day after the injection; "
            "paracetamol given; patient asked to call back if it persists.",
            "severity": "moderate",
            "relation": "possible",
        },
        doctor,
    )
