"""Registering collections and performing lifecycle actions on units.

``perform_action`` executes the lifecycle table (``lims.domain.lifecycle``): it checks
role and status, validates the recorded data, applies the action's effects, and appends
the ledger entry, all in one transaction, refusing a stale version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

from flask import current_app
from pydantic import ValidationError
from sqlalchemy import bindparam, func, insert, select

from ...db import transaction
from ...domain import identifiers
from ...domain.catalogue import unit_type
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.lifecycle import (
    ACTIONS,
    Action,
    Context,
    Fields,
    PatientFields,
    ReceiveFields,
    RegisterFields,
    Status,
    available_actions,
    guard_field,
    receipt_acceptance,
)
from ...domain.processing import protocol_for
from ...domain.roles import Role
from ...driver import DriverSelect, attach, column_keys
from ...extensions import db
from ...models import Patient, Shipment, ShipmentItem, Unit, User
from ...models.types import utcnow
from ...notify import outbox
from .. import access, sequences
from ..admin import sites
from ..custody import ledger, signatures
from ..materials import uses
from . import bedside, certificates, courses, processing, qc, release, storage
from .transition import Effect, Outcome, apply_transition, events_of


@dataclass
class ActionResult:
    unit: Unit
    entries: list = field(default_factory=list)
    products: list[Unit] = field(default_factory=list)


def _role_label(user: User) -> str:
    return Role(user.role).label.lower()


def unit_action(name: object) -> Action:
    """The lifecycle action called ``name`` that acts on an existing unit, or ``Invalid``."""
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is None or not action.from_statuses:
        known = ", ".join(n for n, a in ACTIONS.items() if a.from_statuses)
        raise Invalid(
            f"unknown action {name!r}; known actions: {known}",
            code="unknown_action",
            fields={"action": f"unknown action; known: {known}"},
        )
    return action


def check_role(action: Action, user: User) -> None:
    if Role(user.role) not in action.roles:
        allowed = ", ".join(sorted(Role(r).label for r in action.roles))
        raise Forbidden(
            f"a {_role_label(user)} may not {action.label.lower()} units (allowed: {allowed})",
            code="role_not_allowed",
        )


def _validate(action: Action, data: Mapping[str, Any] | None) -> Fields:
    if not isinstance(data, Mapping):
        raise Invalid("the action's data must be an object of fields", code="invalid_body")
    try:
        return action.fields.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _run_guards(guards, ctx: Context, error: type) -> None:
    for guard in guards:
        problem = guard(ctx)
        if problem:
            field_name = guard_field(guard)
            raise error(
                problem,
                code=f"refused_{guard.__name__}",
                fields={field_name: problem} if field_name else None,
            )


# ---------------------------------------------------------------------------- register


_PATIENT_KEYS = column_keys(Patient)
_PATIENT_BY_MRN = DriverSelect(  # every registration asks: on the driver (decision 123)
    select(*(getattr(Patient, k) for k in _PATIENT_KEYS)).where(Patient.mrn == bindparam("mrn"))
)


def _find_or_create_patient(data: PatientFields, actor: User) -> Patient:
    birth = data.birth_date.date() if data.birth_date else None
    row = _PATIENT_BY_MRN.first({"mrn": data.mrn})
    patient = attach(Patient, row, existing=True) if row is not None else None
    if patient is not None:
        same_name = (
            " ".join(patient.name.split()).casefold() == " ".join(data.name.split()).casefold()
        )
        same_birth = birth is None or patient.birth_date is None or patient.birth_date == birth
        if not (same_name and same_birth):
            raise Conflict(
                f"record number {data.mrn} belongs to a patient with a different name or birth "
                "date: check the patient's identity before registering",
                code="patient_mismatch",
            )
        return patient
    facility = current_app.config["FACILITY_CODE"]
    number = sequences.next_value(f"P{facility}", 0)
    patient = Patient(
        mrn=data.mrn,
        name=" ".join(data.name.split()),
        birth_date=birth,
        wristband=identifiers.make_wristband(facility, number),
        clinician_id=actor.id if actor.role == Role.CLINICIAN else None,
    )
    db.session.add(patient)
    db.session.flush()
    return patient


def new_din(year: int, facility: str | None = None) -> tuple[str, str]:
    """The next DIN of ``facility`` (default: the installation's) for ``year``."""
    facility = facility or current_app.config["FACILITY_CODE"]
    number = sequences.next_value(facility, year)
    din = identifiers.make_din(facility, year, number)
    return din, identifiers.check_character(din)


_NEW_UNIT_KEYS = tuple(k for k in column_keys(Unit) if k != "id")
_INSERT_UNIT = DriverSelect(
    insert(Unit).values({k: bindparam(f"new_{k}") for k in _NEW_UNIT_KEYS}).returning(Unit.id)
)


def _insert_unit(given: Mapping[str, Any], patient: Patient) -> Unit:
    """A new collection's unit, inserted on the driver and attached as the session's object
    (decision 123): what the ORM's flush of a new ``Unit`` wrote — its column defaults, the
    first version — without the unit of work (~0.7 ms of CPU), while the DIN is held. It has no
    children yet, known without asking."""
    db.session.flush()  # anything pending (a new patient, a course) is written first
    now = utcnow()
    values = {k: None for k in _NEW_UNIT_KEYS}
    values.update(deviation=False, exceptional_release=False, created_at=now, updated_at=now)
    values.update(given, version=1)
    (unit_id,) = _INSERT_UNIT.rows({f"new_{k}": v for k, v in values.items()})[0]
    unit = attach(Unit, {"id": unit_id, **values, "children_listed": ""}, {"patient": patient})
    assert unit is not None  # a new id: the session cannot hold it yet
    return unit


def register(data: Mapping[str, Any] | None, actor: User) -> ActionResult:
    """Register a collection: a new DIN and its source unit, status ``collected``."""
    action = ACTIONS["register"]
    check_role(action, actor)
    fields = _validate(action, data)
    assert isinstance(fields, RegisterFields)
    now = utcnow()
    _run_guards(action.guards, Context(None, fields, Role(actor.role), now), Invalid)
    kind = unit_type(fields.type)
    collected_at = fields.collected_at.astimezone(UTC)
    site = sites.collecting_site(actor, fields.site)
    with transaction(keep_loaded=True):
        patient = _find_or_create_patient(fields.patient, actor)
        course, started = courses.assign(patient, fields.course, site, actor, collected_at)
        din, check = new_din(collected_at.year, site.code)
        unit = _insert_unit(
            {
                "din": din,
                "check_character": check,
                "product_code": kind.product_code,
                "division": "00",
                "unit_type": kind.key,
                "patient_id": patient.id,
                "status": Status.COLLECTED.value,
                "custodian_id": actor.id,
                "volume_ml": fields.volume_ml,
                "collection_site": fields.collection_site.lower(),
                "collected_at": collected_at,
                "collected_by_id": actor.id,
                "donor_testing": fields.donor_testing,
                "site_id": site.id,
                "chain_of_identity": course.code,
                "expires_at": collected_at + kind.shelf_life,
            },
            patient,
        )
        entry = ledger.append(
            unit=unit,
            action="register",
            actor=actor,
            movement=ledger.movement_of(unit),
            data={
                **fields.model_dump(mode="json", exclude={"course"}),
                "site": site.code,
                "patient_id": patient.id,
                "chain_of_identity": course.code,
                "course_started": started,
            },
            at=now,
        )
    return ActionResult(unit, [entry])


# ---------------------------------------------------------------------------- actions


def receipt_facts(unit: Unit, fields: ReceiveFields, now) -> Outcome:
    """What receipt changes on the unit and records; ``deviations``: what is outside acceptance."""
    acceptance = receipt_acceptance(unit, fields, now)
    unit.received_at = now
    unit.volume_ml = fields.volume_ml
    unit.deviation = unit.deviation or not acceptance.accepted
    outcome = Outcome()
    outcome.recorded["acceptance"] = (
        "accepted" if acceptance.accepted else "accepted with deviation"
    )
    if acceptance.deviations:
        outcome.recorded["deviations"] = list(acceptance.deviations)
    return outcome


def _receive(unit: Unit, fields: ReceiveFields, now, actor: User) -> Outcome:
    outcome = receipt_facts(unit, fields, now)
    if "deviations" in outcome.recorded:
        qc.receipt_deviation(unit, outcome.recorded["deviations"], now, actor)
    return outcome


def _start_processing(unit: Unit, fields: Fields, now, actor: User) -> Outcome:
    """Processing starts in a biosafety cabinet of the register, usable now."""
    checked = uses.check_equipment(
        unit, fields.equipment, now, kind="biosafety_cabinet", deviation_id=fields.deviation
    )
    unit.processing_started_at = now
    outcome = Outcome()
    outcome.recorded.update(checked.recorded())
    outcome.uses.append(uses.use(unit, checked, action="start_processing", step=None, at=now))
    protocol = protocol_for(unit.unit_type)
    if protocol is not None:
        outcome.recorded["protocol_steps"] = [s.key for s in protocol.steps]
    return outcome


# Each action's own effect on the unit, beyond the lifecycle table's status and custody.
EFFECTS: dict[str, Effect] = {
    "receive": _receive,
    "start_processing": _start_processing,
    "record_step": processing.record_step,
    "complete_processing": processing.complete,
    "record_qc": qc.record,
    "release": release.release,
    "exceptional_release": release.exceptional_release,
    "reject": release.reject,
    "split": processing.split,
    "store": storage.move,
    "move": storage.move,
    "thaw": storage.thaw,
    "dispense": bedside.dispense,
    "administer": bedside.administer,
    "return": bedside.return_unit,
}


def _check_status(action: Action, unit: Unit, actor: User) -> None:
    role = Role(actor.role)
    if not action.allows(unit.status, role):
        starts = ", ".join(s.label for s in sorted(action.statuses_for(role)))
        raise Conflict(
            f"cannot {action.label.lower()} a unit that is "
            f"{Status(unit.status).label}; allowed from: {starts}",
            code="not_allowed_now",
        )


def check_allowed(unit: Unit, name: str, actor: User) -> Action:
    """Refuse, exactly as ``perform_action`` would, an action this user may not take now.

    Entrypoints call it before showing an action's form, so a refusal reads the same
    whether it comes before or after the user fills the form in.
    """
    action = ACTIONS.get(name)
    if action is None or not action.from_statuses:
        raise NotFound(f"no action {name!r} for units", code="unknown_action")
    check_role(action, actor)
    _check_status(action, unit, actor)
    _run_guards(action.state_guards, Context(unit, None, Role(actor.role), utcnow()), Conflict)
    return action


def perform_action(
    unit_id: int,
    name: str,
    data: Mapping[str, Any] | None,
    actor: User,
    expected_version: int | None = None,
    *,
    provenance: Mapping[str, Any] | None = None,
) -> ActionResult:
    """Perform one lifecycle action on one unit, in one transaction, or refuse and change nothing.

    The one exception to "nothing": a bedside identity mismatch refuses the action and is
    then recorded on the unit, in a transaction of its own.

    ``provenance`` is for the instrument import only: the file's SHA-256, the row, the import
    and instrument an imported QC result came from (a request cannot set it).
    """
    try:
        return _perform(unit_id, name, data, actor, expected_version, provenance)
    except bedside.IdentityMismatch as exc:
        bedside.record_mismatch(exc, actor)
        raise


def _perform(
    unit_id: int,
    name: str,
    data: Mapping[str, Any] | None,
    actor: User,
    expected_version: int | None,
    provenance: Mapping[str, Any] | None = None,
) -> ActionResult:
    action = unit_action(name)
    with transaction():  # expires what it loaded: an effect may set ids, not relationships
        # A unit of a patient the actor may not see is, to them, no unit (decision 61).
        unit = access.require_unit(actor, unit_id)
        check_role(action, actor)
        _check_status(action, unit, actor)
        if expected_version is not None and expected_version != unit.version:
            raise Conflict(
                f"the unit changed since you loaded it (version {expected_version}, "
                f"now {unit.version}); reload and try again",
                code="stale_version",
            )
        if unit.custodian_id is None:  # a unit on its way in a shipment is held by nobody
            refuse_in_shipment(unit)
        extra = None
        if provenance is not None:
            if action.name != "record_qc":
                raise ValueError("only an imported QC result carries a provenance")
            extra = {"provenance": dict(provenance)}
        return act(unit, action, data, actor, utcnow(), extra=extra)


def act(
    unit: Unit,
    action: Action,
    data: Mapping[str, Any] | None,
    actor: User,
    now,
    *,
    extra: Mapping[str, Any] | None = None,
    recorded: Mapping[str, Any] | None = None,
) -> ActionResult:
    """One action on one unit inside the caller's transaction, once the caller has found the
    unit (with the actor's access) and checked role and status: guards, effect, transition,
    ledger entries, signatures, certificates and events.

    ``extra``: fields a request cannot set (an import's provenance); ``recorded``: facts added
    to the action's ledger entry (the shipment that carried the unit, decision 102).
    """
    role = Role(actor.role)
    _run_guards(action.state_guards, Context(unit, None, role, now), Conflict)
    fields = _validate(action, data)
    if extra:
        fields = fields.model_copy(update=dict(extra))
    _run_guards(action.guards, Context(unit, fields, role, now), Invalid)

    before = ledger.position(unit)
    effect = EFFECTS.get(action.name)
    # One UPDATE per unit per action (one version step): the effect's queries must not
    # flush its half-made changes.
    with db.session.no_autoflush:
        outcome = effect(unit, fields, now, actor) if effect else Outcome()
    if recorded:
        outcome.recorded.update(recorded)
    done = apply_transition(unit, action, fields, outcome, actor, now, before)
    db.session.add_all(outcome.products)
    db.session.flush()  # the products' ids, for the entries
    entries = [
        ledger.append(
            unit=draft.unit,
            action=draft.action,
            actor=actor,
            movement=draft.movement,
            data=draft.data,
            reason=draft.reason,
            at=now,
        )
        for draft in done.entries()
    ]
    signatures.persist(outcome.signatures, unit, entries[0], action.name)
    uses.attach(outcome.uses, entries[0])
    # A release, a late QC result or a split of a released unit issues its certificate
    # of release here, in the same transaction (decision 85).
    issued = certificates.after_action(action.name, unit, outcome, actor, now)
    for kind, payload in [*outcome.events, *events_of(action.name, unit)]:
        outbox.emit(kind, unit, **payload)
    return ActionResult(unit, [*outcome.entries, *entries, *issued], outcome.products)


def shipment_holding(unit_id: int) -> Shipment | None:
    """The dispatched shipment the unit travels in, if any (decision 102)."""
    return db.session.scalar(
        select(Shipment)
        .join(ShipmentItem, ShipmentItem.shipment_id == Shipment.id)
        .where(
            ShipmentItem.unit_id == unit_id,
            ShipmentItem.on_manifest.is_(True),
            Shipment.status == "dispatched",
        )
        .limit(1)
    )


def refuse_in_shipment(unit: Unit) -> None:
    """A unit on its way in a shipment is received with the shipment, not acted on alone."""
    shipment = shipment_holding(unit.id)
    if shipment is not None:
        raise Conflict(
            f"{unit.eye_readable} travels in shipment {shipment.code} to "
            f"{shipment.to_site.name}: receive it by scanning the shipment in",
            code="in_shipment",
        )


# ---------------------------------------------------------------------------- reading


ROLE_NAMES = frozenset(r.value for r in Role)


def allowed_actions(unit: Unit, user: User) -> list[Action]:
    """What this user may do to this unit now: role, status and state guards agree."""
    if user.role not in ROLE_NAMES:
        return []
    role, now = Role(user.role), utcnow()
    result = []
    for action in available_actions(unit.status, role):
        ctx = Context(unit, None, role, now)
        if all(guard(ctx) is None for guard in action.state_guards):
            result.append(action)
    return result


def get_unit(unit_id: int | str) -> Unit:
    """The unit with this id; anything that cannot be an id is simply not found (never a 500)."""
    if isinstance(unit_id, str) and unit_id.isascii() and unit_id.isdigit():
        unit_id = int(unit_id)
    if isinstance(unit_id, bool) or not isinstance(unit_id, int) or not 0 < unit_id <= MAX_ID:
        raise NotFound(f"no unit with id {str(unit_id)[:40]!r}")
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"no unit with id {unit_id}")
    return unit


def units_for_din(din: str) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.din == din).order_by(Unit.id)))


def lookup(code: str) -> list[Unit]:
    """Resolve a scanned or typed identifier to its units; a bad code raises ``Invalid``."""
    try:
        parsed = identifiers.parse_din(code)
    except identifiers.CodeError as exc:
        raise Invalid(exc.message, code=exc.code) from None
    units = units_for_din(parsed.din)
    if not units:
        raise NotFound(
            f"no unit has identifier {identifiers.eye_readable(parsed.din)}",
            code="unknown_identifier",
        )
    return units


def lineage_ids(unit: Unit) -> list[int]:
    """The unit, its ancestors and its descendants: one collection's whole story."""
    return [u.id for u in units_for_din(unit.din)]


def count_units(status: str | None = None) -> int:
    stmt = select(func.count()).select_from(Unit)
    if status:
        stmt = stmt.where(Unit.status == status)
    return db.session.scalar(stmt) or 0


def today_utc() -> date:
    return utcnow().date()
