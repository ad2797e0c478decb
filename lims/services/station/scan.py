"""The scan station's services: what a scanned code is, a move by scan, the wristband
check, and one action applied to a batch of units.

A DIN alone names a collection; when exactly one of its units is still open (not in a
final status) that unit is meant, otherwise the product code barcode must follow.

A scan finds only what the scanning person may see (``services.access``, decision 61): to a
clinician another clinician's patient's unit or wristband reads as unknown. Technicians see
every unit, so the bench is never blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, and_, bindparam, select

from ...db import transaction
from ...domain import codes, identifiers
from ...domain.errors import Forbidden, Invalid, NotFound, ServiceError, from_validation_error
from ...domain.identifiers import CodeError
from ...domain.lifecycle import Action, Status
from ...domain.roles import Role
from ...extensions import db
from ...models import LedgerEntry, Location, Patient, Unit, User
from ...notify import outbox
from .. import access
from ..actions import units
from ..admin import locations
from ..custody import ledger

MAX_BATCH = 200
IDENTITY_ROLES = frozenset({Role.CLINICIAN, Role.TECHNICIAN})


@dataclass
class Resolution:
    """What one scan named. ``kind``: unit, collection, patient, location or product_code."""

    kind: str
    unit: Unit | None = None
    units: list[Unit] = field(default_factory=list)  # a collection's units
    patient: Patient | None = None
    location: Location | None = None
    product_code: codes.ProductCode | None = None
    allowed_actions: list[Action] = field(default_factory=list)
    message: str = ""


def classify(code: object, field_name: str = "code") -> codes.Scanned:
    """The code's kind, or ``Invalid`` carrying the precise reason (e.g. the expected check)."""
    try:
        return codes.classify(code)
    except CodeError as exc:
        raise Invalid(exc.message, code=exc.code, fields={field_name: exc.message}) from None


def _unit_resolution(unit: Unit, actor: User) -> Resolution:
    status = Status(unit.status)
    message = (
        f"this unit is {status.label} (a final status): nothing more can be done with it"
        if status.is_final
        else ""
    )
    return Resolution(
        "unit", unit=unit, allowed_actions=units.allowed_actions(unit, actor), message=message
    )


def _unit_by_code(visible: ColumnElement[bool]) -> Select:
    return (
        select(Unit)
        .where(
            Unit.din == bindparam("din"),
            Unit.product_code == bindparam("product_code"),
            Unit.division == bindparam("division"),
            visible,
        )
        .options(*access.TO_SHOW)
    )


def _collection(visible: ColumnElement[bool]) -> Select:
    return (
        select(Unit)
        .where(Unit.din == bindparam("din"), visible)
        .options(*access.TO_SHOW)
        .order_by(Unit.id)
    )


# For those who see every unit, read on the driver (decision 116).
_ANY_UNIT_BY_CODE = access.shown_units(
    and_(
        Unit.din == bindparam("din"),
        Unit.product_code == bindparam("product_code"),
        Unit.division == bindparam("division"),
    )
)
_ANY_COLLECTION = access.shown_units(Unit.din == bindparam("din"), Unit.id)


def _one_unit(din: str, product_code: str, division: str, actor: User) -> Unit:
    params = {"din": din, "product_code": product_code, "division": division}
    if access.sees_every_unit(actor):
        found = access.read_shown(_ANY_UNIT_BY_CODE, params)
        unit = found[0] if found else None
    else:
        unit = db.session.scalar(_unit_by_code(access.visible_units(actor)), params)
    if unit is None:
        raise NotFound(
            f"no unit {identifiers.eye_readable(din)} with product code {product_code} {division}",
            code="unknown_unit",
        )
    return unit


def collection_of(din: str, actor: User) -> list[Unit]:
    """The collection's units, if the actor may see them; none at all is 404."""
    if access.sees_every_unit(actor):
        found = access.read_shown(_ANY_COLLECTION, {"din": din})
    else:
        found = list(db.session.scalars(_collection(access.visible_units(actor)), {"din": din}))
    if not found:
        raise NotFound(
            f"no unit has identifier {identifiers.eye_readable(din)}", code="unknown_identifier"
        )
    return found


def resolve_unit_code(scanned: codes.UnitCode, actor: User) -> Resolution:
    """A unit code: the unit it names exactly, the one open unit of its collection, or the
    collection itself when the product code must say which unit is meant."""
    din = scanned.din.din
    if scanned.product_code is not None:
        unit = _one_unit(din, scanned.product_code, scanned.division or "00", actor)
        return _unit_resolution(unit, actor)
    collection = collection_of(din, actor)
    if len(collection) == 1:
        return _unit_resolution(collection[0], actor)
    open_units = [u for u in collection if not Status(u.status).is_final]
    if len(open_units) == 1:
        return _unit_resolution(open_units[0], actor)
    return Resolution(
        "collection",
        units=collection,
        message=(
            f"{len(collection)} units share identifier {identifiers.eye_readable(din)}: "
            "scan the product code barcode (=<…) next, or choose one"
        ),
    )


def narrow(units_of_collection: Sequence[Unit], product: codes.ProductCode) -> Unit:
    """The unit of a collection that a product code barcode names."""
    for unit in units_of_collection:
        if (unit.product_code, unit.division) == (product.product_code, product.division):
            return unit
    din = units_of_collection[0].eye_readable if units_of_collection else "this collection"
    raise NotFound(
        f"{din} has no unit with product code {product.product_code} {product.division}",
        code="unknown_unit",
    )


def lookup(code: str, actor: User) -> list[Unit]:
    """The units a typed or scanned identifier names (the scan box); a bad code is 422, an
    unknown collection (or one the actor may not see) 404."""
    try:
        parsed = identifiers.parse_din(code)
    except CodeError as exc:
        raise Invalid(exc.message, code=exc.code) from None
    return collection_of(parsed.din, actor)


def patient_by_wristband(wristband: str, actor: User) -> Patient:
    patient = db.session.scalar(
        select(Patient).where(Patient.wristband == wristband, access.visible_patients(actor))
    )
    if patient is None:
        raise NotFound(f"no patient has wristband {wristband}", code="unknown_wristband")
    return patient


def resolve(code: object, actor: User) -> Resolution:
    """Say what a scanned or typed code names; a bad code is 422, an unknown one 404."""
    scanned = classify(code)
    if isinstance(scanned, codes.UnitCode):
        return resolve_unit_code(scanned, actor)
    if isinstance(scanned, codes.WristbandCode):
        return Resolution("patient", patient=patient_by_wristband(scanned.wristband, actor))
    if isinstance(scanned, codes.LocationCode):
        return Resolution("location", location=locations.by_code(scanned.code))
    return Resolution(
        "product_code",
        product_code=scanned,
        message="a product code on its own names no unit: scan the unit's identifier first",
    )


def move_by_scan(
    unit: Unit | int, location_code: str, actor: User, version: int | None = None
) -> units.ActionResult:
    """Unit, then location: record the move (a technician's ``move`` action)."""
    unit_id = unit.id if isinstance(unit, Unit) else unit
    return units.perform_action(
        unit_id, "move", {"location": location_code}, actor, expected_version=version
    )


# ---------------------------------------------------------------------------- identity


@dataclass
class IdentityCheck:
    match: bool
    unit: Unit
    wristband_patient: Patient
    entry: LedgerEntry

    @property
    def unit_patient(self) -> Patient:
        return self.unit.patient


def _identity_unit(unit_code: object, actor: User) -> Unit:
    scanned = classify(unit_code, "unit")
    if not isinstance(scanned, codes.UnitCode):
        raise Invalid(
            f"this is a {codes.describe(scanned)} code; scan the unit's identifier",
            code="wrong_kind",
            fields={"unit": "not a unit code"},
        )
    found = resolve_unit_code(scanned, actor)
    # Every unit of a collection belongs to one patient: record on the open (or first) one.
    return found.unit or next(
        (u for u in found.units if not Status(u.status).is_final), found.units[0]
    )


def _wristband_patient(wristband: object, actor: User) -> Patient:
    scanned = classify(wristband, "wristband")
    if not isinstance(scanned, codes.WristbandCode):
        raise Invalid(
            f"this is a {codes.describe(scanned)} code; scan the patient's wristband",
            code="wrong_kind",
            fields={"wristband": "not a wristband code"},
        )
    return patient_by_wristband(scanned.wristband, actor)


def check_identity(wristband: object, unit_code: object, actor: User) -> IdentityCheck:
    """Wristband, then unit: do they belong together? Either answer is recorded on the unit."""
    if Role(actor.role) not in IDENTITY_ROLES:
        raise Forbidden(
            "only clinicians and technicians check a patient's identity against a unit",
            code="role_not_allowed",
        )
    patient = _wristband_patient(wristband, actor)
    unit = _identity_unit(unit_code, actor)
    match = unit.patient_id == patient.id
    with transaction():
        entry = ledger.append(
            unit=unit,
            action="identity_check",
            actor=actor,
            movement=ledger.standing(unit),
            data={
                "wristband": patient.wristband,
                "patient_id": patient.id,
                "result": "match" if match else "mismatch",
            },
        )
        if not match:
            outbox.emit(
                "identity_mismatch",
                unit,
                wristband=patient.wristband,
                action="bedside check",
                actor=actor.full_name,
            )
    return IdentityCheck(match, unit, patient, entry)


# ---------------------------------------------------------------------------- batch


@dataclass(frozen=True)
class BatchItem:
    unit_id: int
    ok: bool
    unit: Unit | None = None
    code: str | None = None
    message: str | None = None


def _batch_ids(unit_ids: object) -> list[int]:
    if not isinstance(unit_ids, list) or not unit_ids:
        raise Invalid(
            "name the units of the batch: a non-empty list of unit ids",
            code="invalid_fields",
            fields={"units": "a non-empty list of unit ids"},
        )
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in unit_ids):
        raise Invalid(
            "unit ids are whole numbers",
            code="invalid_fields",
            fields={"units": "a list of unit ids (integers)"},
        )
    if len(unit_ids) > MAX_BATCH:
        raise Invalid(
            f"a batch holds at most {MAX_BATCH} units",
            code="invalid_fields",
            fields={"units": f"at most {MAX_BATCH}"},
        )
    distinct: list[int] = []
    for unit_id in unit_ids:  # a unit scanned twice is acted on once
        if unit_id not in distinct:
            distinct.append(unit_id)
    return distinct


def _check_fields(action: Action, fields: dict[str, Any]) -> None:
    """The fields are the same for every unit: a batch they do not fit is refused once, as a
    whole, before any unit is looked at (each unit's own checks come with its action)."""
    try:
        action.fields.model_validate(dict(fields))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def apply_batch(
    unit_ids: object, action: object, fields: dict[str, Any], actor: User
) -> list[BatchItem]:
    """One action for many units, each in its own transaction: one refusal stops no other."""
    ids = _batch_ids(unit_ids)
    spec = units.unit_action(action)
    if spec.signed:
        raise Invalid(
            f"{spec.label.lower()} is signed unit by unit: a signature binds to one unit's record",
            code="signed_action",
            fields={"action": "not in a batch"},
        )
    units.check_role(spec, actor)
    _check_fields(spec, fields)
    results = []
    for unit_id in ids:
        try:
            result = units.perform_action(unit_id, spec.name, dict(fields), actor)
        except ServiceError as exc:
            results.append(BatchItem(unit_id, False, code=exc.code, message=exc.message))
        else:
            results.append(BatchItem(unit_id, True, unit=result.unit))
    return results
