"""Dispensing to a clinician, the bedside identity check and administration, returns.

A wristband that does not match the unit's patient refuses the action; the mismatch itself
is recorded on the unit (an ``identity_check`` ledger entry) after the refusal rolls back,
so QA sees every near miss.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from ...db import transaction
from ...domain import codes
from ...domain.errors import Conflict, Invalid, NotFound
from ...domain.identifiers import CodeError
from ...domain.lifecycle import AdministerFields, DispenseFields, ReturnFields
from ...domain.roles import Role
from ...extensions import db
from ...models import Patient, Unit, User
from ...notify import outbox
from ..custody import ledger
from . import treatment
from .transition import Outcome

PAST = {"dispense": "dispensed", "administer": "administered"}


class IdentityMismatch(Conflict):
    """The wristband names another patient; raised after the check is known, recorded after."""

    code = "patient_mismatch"

    def __init__(self, message: str, *, unit_id: int, patient: Patient, action: str) -> None:
        super().__init__(message, fields={"wristband": "another patient's wristband"})
        self.unit_id = unit_id
        self.patient_id = patient.id
        self.wristband = patient.wristband
        self.action = action


def _wristband_patient(text: str) -> Patient:
    try:
        scanned = codes.classify(text)
    except CodeError as exc:
        raise Invalid(exc.message, code=exc.code, fields={"wristband": exc.message}) from None
    if not isinstance(scanned, codes.WristbandCode):
        message = f"this is a {codes.describe(scanned)} code; scan the patient's wristband"
        raise Invalid(message, code="wrong_kind", fields={"wristband": message})
    patient = db.session.scalar(select(Patient).where(Patient.wristband == scanned.wristband))
    if patient is None:
        message = f"no patient has wristband {scanned.wristband}"
        raise NotFound(message, code="unknown_wristband", fields={"wristband": message})
    return patient


def check_patient(unit: Unit, wristband: str, action: str, recorded: dict) -> None:
    patient = _wristband_patient(wristband)
    if patient.id != unit.patient_id:
        raise IdentityMismatch(
            f"STOP: wristband {patient.wristband} belongs to another patient, not to the "
            f"patient of {unit.label}. Nothing was {PAST[action]}; the mismatch is recorded "
            "and QA is told",
            unit_id=unit.id,
            patient=patient,
            action=action,
        )
    recorded["identity_check"] = {"wristband": patient.wristband, "result": "match"}


def record_mismatch(exc: IdentityMismatch, actor: User) -> None:
    """In its own transaction, after the refused action rolled back."""
    with transaction():
        unit = db.session.get(Unit, exc.unit_id)
        assert unit is not None
        ledger.append(
            unit=unit,
            action="identity_check",
            actor=actor,
            movement=ledger.standing(unit),
            data={
                "wristband": exc.wristband,
                "patient_id": exc.patient_id,
                "result": "mismatch",
                "refused_action": exc.action,
            },
        )
        outbox.emit(
            "identity_mismatch",
            unit,
            wristband=exc.wristband,
            action=exc.action,
            actor=actor.full_name,
        )


def dispense(unit: Unit, fields: DispenseFields, now: datetime, actor: User) -> Outcome:
    clinician = db.session.scalar(
        select(User).where(User.username == fields.clinician.strip().lower())
    )
    if clinician is None or not clinician.active or clinician.role != Role.CLINICIAN:
        message = f"{fields.clinician!r} is not an active clinician's username"
        raise Invalid(message, code="invalid_fields", fields={"clinician": message})
    outcome = Outcome()
    if fields.wristband:
        check_patient(unit, fields.wristband, "dispense", outcome.recorded)
    unit.custodian_id = clinician.id
    unit.location_id = None  # it has left the lab's storage
    outcome.recorded["clinician_name"] = clinician.full_name
    return outcome


def administer(unit: Unit, fields: AdministerFields, now: datetime, actor: User) -> Outcome:
    outcome = Outcome()
    check_patient(unit, fields.wristband, "administer", outcome.recorded)
    at = fields.administered_at.astimezone(UTC) if fields.administered_at else now
    unit.administered_at = at
    unit.location_id = None
    outcome.recorded["administered_at"] = at.isoformat()
    # the dose from the product's QC, and the session of its course it fills (decision 111)
    outcome.recorded.update(treatment.record_administration(unit, fields.volume_ml, at))
    return outcome


def return_unit(unit: Unit, fields: ReturnFields, now: datetime, actor: User) -> Outcome:
    return Outcome(recorded={"returned_by": actor.full_name})
