"""The scan station's flow: what a scan means depends on the step the station is at.

State between scans lives in the signed server-side session cookie (``session["station"]``):
the unit on screen and its version, the step expected next (a location to complete a move,
the unit after a wristband, the product code of a collection), the batch being collected,
and an unacknowledged identity mismatch, which blocks every scan until dismissed.
Only ids and codes are kept there; every scan reads the units afresh and every change goes
through the services.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from flask import session

from ...domain import codes
from ...domain.errors import Conflict, Invalid, ServiceError
from ...domain.lifecycle import Status
from ...models import Location, Patient, Unit, User
from ...services import access
from ...services.actions import units
from ...services.station import scan

KEY = "station"

EXPECTS = {
    "location": "a location code, to complete the move",
    "identity_unit": "the unit's code, to check it against the wristband",
    "product_code": "the product code barcode (=<…) of the unit meant",
}


@dataclass
class State:
    unit: int | None = None
    version: int | None = None
    expect: str | None = None  # a key of EXPECTS
    wristband: str | None = None
    din: str | None = None
    batch: list[int] | None = None  # None: batch mode is off
    alert: dict[str, str] | None = None  # an unacknowledged identity mismatch

    @classmethod
    def load(cls) -> State:
        raw = session.get(KEY)
        if not isinstance(raw, dict):
            return cls()
        try:
            return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})
        except TypeError:
            return cls()

    def save(self) -> None:
        session[KEY] = asdict(self)

    def cancel_step(self) -> None:
        self.expect, self.wristband, self.din = None, None, None

    @property
    def batch_mode(self) -> bool:
        return self.batch is not None


@dataclass
class Outcome:
    """What the last scan did, for the result panel."""

    kind: str  # unit, collection, patient, location, moved, match, mismatch, batch_added
    unit: Unit | None = None
    units: list[Unit] = field(default_factory=list)
    patient: Patient | None = None
    location: Location | None = None
    message: str = ""


def wrong_kind(scanned: codes.Scanned, expected: str) -> Invalid:
    return Invalid(
        f"expected {EXPECTS[expected]}, but this is a {codes.describe(scanned)} code; "
        "scan the right code, or press Escape to cancel this step",
        code="wrong_kind",
    )


def _move(state: State, code: str, actor: User) -> Outcome:
    if state.unit is None:
        raise Conflict("scan a unit first, then its location", code="no_unit")
    result = scan.move_by_scan(state.unit, code, actor, state.version)
    state.expect, state.version = None, result.unit.version
    unit = result.unit
    return Outcome(
        "moved",
        unit=unit,
        location=unit.location,
        message=f"{unit.eye_readable} stored at {unit.location.path}",
    )


def _on_unit(state: State, unit: Unit) -> Outcome:
    status = Status(unit.status)
    if state.batch_mode:
        assert state.batch is not None
        if status.is_final:
            raise Conflict(
                f"{unit.eye_readable} is {status.label} (a final status): not added to the batch",
                code="final_status",
            )
        if unit.id not in state.batch:
            state.batch.append(unit.id)
        return Outcome("batch_added", unit=unit, message=f"{len(state.batch)} units in the batch")
    state.unit, state.version = unit.id, unit.version
    return Outcome("unit", unit=unit)


def _identity(state: State, code: str, actor: User) -> Outcome:
    check = scan.check_identity(state.wristband, code, actor)
    state.cancel_step()
    owner, worn = check.unit_patient, check.wristband_patient
    if check.match:
        return Outcome(
            "match",
            unit=check.unit,
            patient=owner,
            message=f"{check.unit.eye_readable} belongs to {owner.name} ({owner.mrn})",
        )
    state.alert = {
        "unit": check.unit.eye_readable,
        "unit_patient": f"{owner.name} ({owner.mrn})",
        "wristband_patient": f"{worn.name} ({worn.mrn})",
    }
    return Outcome("mismatch", unit=check.unit, patient=worn)


def _expected_step(state: State, scanned: codes.Scanned, code: str, actor: User) -> Outcome:
    step = state.expect
    if step == "location":
        if not isinstance(scanned, codes.LocationCode):
            raise wrong_kind(scanned, step)
        return _move(state, code, actor)
    if step == "identity_unit":
        if not isinstance(scanned, codes.UnitCode):
            raise wrong_kind(scanned, step)
        return _identity(state, code, actor)
    if isinstance(scanned, codes.UnitCode) and scanned.din.din != state.din:
        raise Invalid(
            "this unit is of another collection; scan the product code of the one listed, "
            "or press Escape to cancel this step",
            code="wrong_kind",
        )
    if isinstance(scanned, codes.UnitCode) and scanned.product_code:
        # The unit's own 2-D code (or a choice from the list) names it exactly.
        scanned = codes.ProductCode(scanned.product_code, scanned.division or "00")
    if not isinstance(scanned, codes.ProductCode):
        raise wrong_kind(scanned, "product_code")
    unit = scan.narrow(units.units_for_din(state.din or ""), scanned)
    state.cancel_step()
    return _on_unit(state, unit)


def handle_scan(state: State, code: str, actor: User) -> Outcome:
    """One scan at the station; a refusal raises and leaves the state as it was."""
    if state.alert:
        raise Conflict(
            "an identity mismatch is open: acknowledge it (Dismiss) before scanning on",
            code="mismatch_open",
        )
    scanned = scan.classify(code)
    if state.expect:
        return _expected_step(state, scanned, code, actor)
    if isinstance(scanned, codes.LocationCode) and state.unit and not state.batch_mode:
        return _move(state, code, actor)  # unit, then location: the move
    found = scan.resolve(code, actor)
    if found.kind == "unit":
        assert found.unit is not None
        return _on_unit(state, found.unit)
    if found.kind == "collection":
        state.expect, state.din = "product_code", found.units[0].din
        return Outcome("collection", units=found.units, message=found.message)
    if found.kind == "patient":
        assert found.patient is not None
        state.expect, state.wristband = "identity_unit", found.patient.wristband
        return Outcome("patient", patient=found.patient)
    if found.kind == "location":
        return Outcome("location", location=found.location)
    raise Invalid(found.message, code="wrong_kind")


def start_move(state: State, actor: User) -> None:
    """The Move button: the next scanned location completes the move."""
    if state.unit is None:
        raise Conflict("scan a unit first, then press Move", code="no_unit")
    units.check_allowed(units.get_unit(state.unit), "move", actor)
    state.cancel_step()
    state.expect = "location"


def current_unit(state: State, actor: User) -> Unit | None:
    """The unit on screen, read afresh (its version is the one the user now sees), while the
    user may still see it."""
    if state.unit is None:
        return None
    try:
        unit = access.require_unit(actor, state.unit)
    except ServiceError:
        state.unit = state.version = None
        return None
    state.version = unit.version
    return unit


def batch_units(state: State, actor: User) -> list[Unit]:
    found = []
    for unit_id in state.batch or []:
        try:
            found.append(access.require_unit(actor, unit_id))
        except ServiceError:
            continue
    return found
