"""Scan API routes on the ``api`` blueprint: what a code is, the wristband check, a batch.

Thin like the other routes: the scan service decides; these translate JSON both ways.
"""

from __future__ import annotations

from flask_login import current_user

from ..domain.errors import Invalid
from ..domain.roles import Role
from ..models import User
from ..pool import read_only
from ..security import roles_required
from ..services.station import scan
from . import bp
from .body import json_object, parse
from .respond import json_response
from .scan_schemas import (
    BatchError,
    BatchItemOut,
    BatchOut,
    IdentityOut,
    IdentityRequest,
    ProductCodeOut,
    ScanOut,
    ScanRequest,
)
from .schemas import PatientOut
from .serialise import _location_out, entry_out, unit_detail_out


def _actor() -> User:
    return current_user._get_current_object()


def _patient_out(patient) -> PatientOut | None:
    if patient is None:
        return None
    return PatientOut(
        id=patient.id, mrn=patient.mrn, name=patient.name, wristband=patient.wristband
    )


def scan_out(found: scan.Resolution, viewer: User) -> ScanOut:
    product = found.product_code
    return ScanOut(
        kind=found.kind,
        message=found.message or None,
        unit=unit_detail_out(found.unit, viewer, found.allowed_actions) if found.unit else None,
        allowed_actions=[a.name for a in found.allowed_actions],
        units=[unit_detail_out(u, viewer) for u in found.units],
        patient=_patient_out(found.patient),
        location=_location_out(found.location),
        product_code=(
            ProductCodeOut(product_code=product.product_code, division=product.division)
            if product
            else None
        ),
    )


@bp.post("/scan")
@read_only
@roles_required()
def scan_code():
    """``{"code": ...}``: a unit (with what the caller may do now), a collection, a patient,
    a location or a product code; a malformed code is 422, an unknown one 404."""
    request = parse(ScanRequest, json_object())
    return json_response(scan_out(scan.resolve(request.code, _actor()), _actor()))


@bp.post("/scan/identity")
@roles_required(Role.CLINICIAN, Role.TECHNICIAN)
def scan_identity():
    """``{"wristband", "unit"}``: match or mismatch, recorded on the unit either way."""
    request = parse(IdentityRequest, json_object())
    check = scan.check_identity(request.wristband, request.unit, _actor())
    unit_patient = check.unit_patient
    message = (
        f"unit belongs to {unit_patient.name} ({unit_patient.mrn}): match"
        if check.match
        else (
            f"MISMATCH: unit belongs to {unit_patient.name} ({unit_patient.mrn}), "
            f"wristband is {check.wristband_patient.name} ({check.wristband_patient.mrn})"
        )
    )
    return json_response(
        IdentityOut(
            result="match" if check.match else "mismatch",
            message=message,
            unit=unit_detail_out(check.unit, _actor()),
            unit_patient=_patient_out(unit_patient),
            wristband_patient=_patient_out(check.wristband_patient),
            entry=entry_out(check.entry),
        )
    )


@bp.post("/scan/batch")
@roles_required()
def scan_batch():
    """``{"units": [ids], "action", ...fields}``: each unit in its own transaction; the
    action's own roles decide (403 for the whole batch when the caller may not)."""
    body = json_object()
    unit_ids = body.pop("units", None)
    action = body.pop("action", None)
    if not isinstance(action, str):
        raise Invalid(
            'name the action for the batch, e.g. {"action": "discard", ...}',
            code="invalid_fields",
            fields={"action": "required: the name of an action"},
        )
    results = scan.apply_batch(unit_ids, action, body, _actor())
    return json_response(
        BatchOut(
            action=action,
            succeeded=sum(r.ok for r in results),
            failed=sum(not r.ok for r in results),
            results=[
                BatchItemOut(
                    unit_id=r.unit_id,
                    ok=r.ok,
                    status=r.unit.status if r.unit else None,
                    error=BatchError(code=r.code, message=r.message) if not r.ok else None,
                )
                for r in results
            ],
        )
    )
