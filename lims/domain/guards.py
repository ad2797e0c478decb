"""Small named checks an action runs before it changes anything (product §4).

A guard reads the unit's facts, the recorded fields and the time, and returns what is wrong
in words, or None. Guards on the recorded data refuse with 422, guards on the unit's state
with 409; ``concerns`` names the field a refusal belongs beside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .catalogue import CRYO, THAWED_STORAGE, Temperature, products_of, unit_type
from .fields import (
    AdministerFields,
    CompleteProcessingFields,
    ExceptionalReleaseFields,
    Fields,
    QcFields,
    ReceiveFields,
    RegisterFields,
    RejectFields,
    SignFields,
    SplitFields,
    StepFields,
    ThawFields,
)
from .materials import EQUIPMENT_KINDS
from .processing import protocol_for
from .roles import Role
from .signatures import ACTION_MEANINGS, Meaning
from .status import Status


class UnitFacts(Protocol):
    """What guards may read of a unit (the model satisfies this)."""

    unit_type: str
    status: str
    division: str
    volume_ml: float
    collected_at: datetime
    expires_at: datetime | None
    thawed_at: datetime | None
    qc_alert: str | None


@dataclass(frozen=True)
class Context:
    unit: UnitFacts | None
    fields: Fields | None  # None when only the unit's state is checked
    role: Role
    now: datetime


Guard = Callable[[Context], "str | None"]


def concerns(field_name: str) -> Callable[[Guard], Guard]:
    """Name the field a guard checks, so that a refusal can be shown beside that field."""

    def mark(guard: Guard) -> Guard:
        guard.field = field_name  # type: ignore[attr-defined]
        return guard

    return mark


def guard_field(guard: Guard) -> str | None:
    return getattr(guard, "field", None)


def not_expired(ctx: Context) -> str | None:
    unit = ctx.unit
    if unit is not None and unit.expires_at is not None and ctx.now >= unit.expires_at:
        return f"unit expired at {unit.expires_at:%Y-%m-%d %H:%M} UTC; discard it instead"
    return None


@concerns("products")
def products_match_source(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, CompleteProcessingFields) and ctx.unit is not None
    allowed = products_of(ctx.unit.unit_type)
    types = [p.type for p in ctx.fields.products]
    wrong = [t for t in types if t not in allowed]
    if wrong:
        return (
            f"{', '.join(wrong)} cannot be made from {ctx.unit.unit_type}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    if len(set(types)) != len(types):
        return "list each product type once; aliquots are made later by splitting"
    return None


@concerns("collected_at")
def collected_not_in_future(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, RegisterFields)
    collected = ctx.fields.collected_at
    if collected.tzinfo is None:
        return "collected_at must carry a time zone (for example 2026-11-25T09:30:00+01:00)"
    if collected > ctx.now + timedelta(minutes=5):
        return "collected_at is in the future"
    if collected < ctx.now - timedelta(days=30):
        return "collected_at is more than 30 days ago"
    return None


@concerns("collection_site")
def collection_site_fits_type(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, RegisterFields)
    sites = unit_type(ctx.fields.type).collection_sites
    if sites and ctx.fields.collection_site.lower() not in sites:
        return f"collection site for {ctx.fields.type} must be one of: {', '.join(sites)}"
    return None


@dataclass(frozen=True)
class Acceptance:
    """Result of the receipt checks: what is outside acceptance, if anything."""

    deviations: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.deviations


def receipt_acceptance(unit: UnitFacts, fields: ReceiveFields, now: datetime) -> Acceptance:
    kind = unit_type(unit.unit_type)
    problems = []
    if not kind.storage.contains(fields.temperature_c):
        problems.append(
            f"receipt temperature {fields.temperature_c:g} °C is outside {kind.storage}"
        )
    if not fields.container_intact:
        problems.append("container is not intact")
    if not fields.label_matches:
        problems.append("label does not match the scanned identifier")
    if now - unit.collected_at > kind.shelf_life:
        problems.append(f"received later than allowed: {kind.shelf_life_note}")
    return Acceptance(tuple(problems))


@concerns("deviation_note")
def receipt_within_acceptance(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, ReceiveFields) and ctx.unit is not None
    acceptance = receipt_acceptance(ctx.unit, ctx.fields, ctx.now)
    if not acceptance.accepted and not ctx.fields.deviation_note:
        return (
            "outside acceptance: "
            + "; ".join(acceptance.deviations)
            + ". Reject the unit, or accept it with a deviation note"
        )
    return None


def expiry_due(ctx: Context) -> str | None:
    unit = ctx.unit
    if unit is None or unit.expires_at is None or ctx.now < unit.expires_at:
        return "the unit has not reached its expiry"
    return None


def no_qc_alert(ctx: Context) -> str | None:
    if ctx.unit is not None and ctx.unit.qc_alert:
        return f"QC alert on this unit: {ctx.unit.qc_alert}; QA must decide (discard it)"
    return None


def has_protocol(ctx: Context) -> str | None:
    assert ctx.unit is not None
    if protocol_for(ctx.unit.unit_type) is None:
        return f"{ctx.unit.unit_type} is not processed further (no protocol makes anything from it)"
    return None


def is_product(ctx: Context) -> str | None:
    assert ctx.unit is not None
    if unit_type(ctx.unit.unit_type).is_source:
        return "a source unit is processed, not split"
    if ctx.unit.division != "00":
        return "an aliquot is not split again; split the whole unit"
    return None


def is_frozen(ctx: Context) -> str | None:
    assert ctx.unit is not None
    if unit_type(ctx.unit.unit_type).storage != CRYO:
        return f"{ctx.unit.unit_type} is not cryopreserved; nothing to thaw"
    if ctx.unit.thawed_at is not None:
        return f"already thawed at {ctx.unit.thawed_at:%Y-%m-%d %H:%M} UTC"
    return None


def storage_range(unit: UnitFacts) -> Temperature:
    """The range a unit is kept in now: its type's, or 2–25 °C once a frozen unit is thawed."""
    kind = unit_type(unit.unit_type)
    return THAWED_STORAGE if unit.thawed_at is not None else kind.storage


@concerns("storage_temperature_c")
def stored_within_range(ctx: Context) -> str | None:
    assert ctx.unit is not None
    temperature = getattr(ctx.fields, "storage_temperature_c", None)
    if temperature is None:
        return None
    allowed = THAWED_STORAGE if isinstance(ctx.fields, ThawFields) else storage_range(ctx.unit)
    if not allowed.contains(temperature):
        return f"{temperature:g} °C is outside the storage range of this unit ({allowed})"
    return None


@concerns("started_at")
def step_times(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, StepFields)
    started, ended = ctx.fields.started_at, ctx.fields.ended_at
    if started.tzinfo is None or ended.tzinfo is None:
        return "times must carry a time zone (for example 2026-11-25T09:30:00+01:00)"
    if ended < started:
        return "the step ends before it starts"
    if ended > ctx.now + timedelta(minutes=5):
        return "the step ends in the future"
    if ended - started > timedelta(days=60):
        return "a step longer than 60 days is not plausible"
    return None


@concerns("step")
def step_in_protocol(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, StepFields) and ctx.unit is not None
    protocol = protocol_for(ctx.unit.unit_type)
    if protocol is None:
        return f"no processing protocol for {ctx.unit.unit_type}"
    step = protocol.step(ctx.fields.step)
    if step is None:
        known = ", ".join(s.key for s in protocol.steps)
        return f"not a step of {protocol.name}; steps: {known}"
    return None


@concerns("lot")
def reagent_has_lot(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, StepFields) and ctx.unit is not None
    protocol = protocol_for(ctx.unit.unit_type)
    step = protocol.step(ctx.fields.step) if protocol else None
    if step is not None and step.reagent and not ctx.fields.lot:
        return f"{step.name} uses {step.reagent}: scan or pick its lot"
    return None


@concerns("quantity")
def lot_has_quantity(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, StepFields)
    if ctx.fields.lot and ctx.fields.quantity is None:
        return "say how much of the lot was used"
    if ctx.fields.quantity is not None and not ctx.fields.lot:
        return "a quantity is taken from a lot: scan or pick the lot"
    return None


@concerns("equipment")
def step_has_equipment(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, StepFields) and ctx.unit is not None
    protocol = protocol_for(ctx.unit.unit_type)
    step = protocol.step(ctx.fields.step) if protocol else None
    if step is not None and step.equipment and not ctx.fields.equipment:
        kind = EQUIPMENT_KINDS.get(step.equipment, step.equipment).lower()
        return f"{step.name} is done on a {kind}: scan or pick it"
    return None


@concerns("test")
def sterility_only_after_release(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, QcFields) and ctx.unit is not None
    if ctx.unit.status != Status.QUARANTINE and ctx.fields.test != "sterility":
        return (
            f"only a sterility result may be recorded on a {Status(ctx.unit.status).label} "
            "unit; other tests are recorded in quarantine"
        )
    return None


@concerns("reason")
def correction_has_reason(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, QcFields)
    if ctx.fields.corrects is not None and not ctx.fields.reason:
        return "a correction needs a reason"
    if ctx.fields.corrects is None and ctx.fields.reason:
        return "a reason is given only with a correction ('corrects': the result's id)"
    return None


def _meaning_fits(action_name: str, meaning: Meaning | None) -> str | None:
    allowed = ACTION_MEANINGS[action_name]
    if meaning not in allowed:
        return f"this signature must mean: {' or '.join(m.value for m in allowed)}"
    return None


@concerns("meaning")
def release_meaning(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, SignFields)
    name = "exceptional_release" if isinstance(ctx.fields, ExceptionalReleaseFields) else "release"
    return _meaning_fits(name, ctx.fields.meaning)


@concerns("password")
def qa_signs_rejection(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, RejectFields)
    if ctx.role is Role.QA and ctx.fields.password is None:
        return "QA signs a rejection: enter your password"
    return None


@concerns("meaning")
def rejection_meaning(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, RejectFields)
    if ctx.fields.password is None and ctx.fields.meaning is None:
        return None
    return _meaning_fits("reject", ctx.fields.meaning)


@concerns("aliquots")
def aliquots_fit(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, SplitFields) and ctx.unit is not None
    total = round(sum(a.volume_ml for a in ctx.fields.aliquots), 2)
    if total > ctx.unit.volume_ml:
        return f"the aliquots add up to {total:g} ml; the unit holds {ctx.unit.volume_ml:g} ml"
    return None


@concerns("volume_ml")
def dose_fits(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, AdministerFields) and ctx.unit is not None
    if ctx.fields.volume_ml > ctx.unit.volume_ml:
        return f"more than the unit holds ({ctx.unit.volume_ml:g} ml)"
    return None


@concerns("administered_at")
def administered_time(ctx: Context) -> str | None:
    assert isinstance(ctx.fields, AdministerFields)
    moment = ctx.fields.administered_at
    if moment is None:
        return None
    if moment.tzinfo is None:
        return "the time must carry a time zone"
    if moment > ctx.now + timedelta(minutes=5):
        return "the time is in the future"
    if moment < ctx.now - timedelta(hours=24):
        return "more than 24 hours ago; record it as a correction with QA"
    return None
