"""The unit lifecycle as data (PRODUCT.md §4).

One table of actions: the statuses an action may start from, the status it leads to,
the roles allowed, the fields it must record (a pydantic model) and small named guards.
``lims.services.actions.perform_action`` is the only code that executes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from .catalogue import CATALOGUE, CRYO, SOURCE_TYPES, Temperature, products_of, unit_type
from .processing import protocol_for
from .qc import TESTS
from .roles import Role
from .signatures import ACTION_MEANINGS, Meaning


class Status(StrEnum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    IN_PROCESSING = "in_processing"
    PROCESSED = "processed"
    QUARANTINE = "quarantine"
    RELEASED = "released"
    DISPENSED = "dispensed"
    ADMINISTERED = "administered"
    RETURNED = "returned"
    REJECTED = "rejected"
    DISCARDED = "discarded"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.ADMINISTERED, Status.REJECTED, Status.DISCARDED, Status.EXPIRED})
PRE_RELEASE = frozenset(  # "collected … quarantine" in PRODUCT.md §4
    {
        Status.COLLECTED,
        Status.IN_TRANSIT,
        Status.RECEIVED,
        Status.IN_PROCESSING,
        Status.PROCESSED,
        Status.QUARANTINE,
    }
)
AT_RECEIPT = frozenset({Status.COLLECTED, Status.IN_TRANSIT, Status.RECEIVED})
NON_FINAL = frozenset(Status) - FINAL_STATUSES
# A unit the scheduler expires when its time is up. Not while it is being processed (the
# source's window stops when processing starts) and not a source already processed.
EXPIRABLE = NON_FINAL - {Status.IN_PROCESSING, Status.PROCESSED}
RELEASABLE = frozenset({Status.QUARANTINE, Status.RETURNED})
THAWED_STORAGE = Temperature(2, 25)  # a thawed cryopreserved product until injection
THAW_SHELF_LIFE = timedelta(hours=4)

# ---------------------------------------------------------------------------- fields

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# Numbers and yes/no answers are strict: "250" or true is not a volume, 1 is not "yes".
# (Forms convert typed text to numbers before calling a service.)
Volume = Annotated[float, Field(gt=0, le=5000, allow_inf_nan=False, strict=True)]
Temperature_C = Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Passwords are taken exactly as typed and never recorded (excluded from every dump).
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=1024)]
Wristband = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatientFields(Fields):
    mrn: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-/]+$"
        ),
    ]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
    birth_date: datetime | None = None  # accepted as a date or datetime; kept as a date

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) == 10:
            return value + "T00:00:00"
        return value

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.date() > (datetime.now(UTC) + timedelta(days=1)).date():
            raise ValueError("birth date is in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
        return value


class RegisterFields(Fields):
    patient: PatientFields
    type: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    collection_site: Text
    volume_ml: Volume
    collected_at: datetime

    @field_validator("type")
    @classmethod
    def _source_type(cls, value: str) -> str:
        value = value.upper()
        if value not in SOURCE_TYPES:
            raise ValueError(f"must be a source type: {', '.join(SOURCE_TYPES)}")
        return value


class DispatchFields(Fields):
    courier: Text
    transport_condition: Text


class ReceiveFields(Fields):
    temperature_c: Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)]
    container_intact: StrictBool
    label_matches: StrictBool = True
    volume_ml: Volume
    deviation_note: Note | None = None


class ReasonFields(Fields):
    reason: Reason


class StartProcessingFields(Fields):
    protocol: Text
    equipment: Text


class ProductFields(Fields):
    type: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    volume_ml: Volume
    cell_count: Annotated[int, Field(ge=0, le=10**13, strict=True)] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        value = value.upper()
        if value not in CATALOGUE:
            raise ValueError(f"unknown product type; known: {', '.join(CATALOGUE)}")
        return value


LocationCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class MoveFields(Fields):
    """Where a unit now is: a scanned or typed location code (the service resolves it)."""

    location: LocationCode
    storage_temperature_c: Temperature_C | None = None


class StoreFields(MoveFields):
    """Storing records the temperature the unit is kept at."""

    storage_temperature_c: Temperature_C


class ThawFields(Fields):
    location: LocationCode | None = None
    storage_temperature_c: Temperature_C | None = None


class StepFields(Fields):
    """One processing step, as the operator did it."""

    step: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    started_at: datetime
    ended_at: datetime
    reagent: Text | None = None
    lot: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None
    ) = None
    equipment: Text | None = None
    notes: Note | None = None


QcValue = (
    Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
)


class QcFields(Fields):
    """A QC result; pass or fail is computed from the spec in force, never sent."""

    test: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    value: QcValue
    method: Text
    lot: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    corrects: Annotated[int, Field(gt=0, le=2**31 - 1, strict=True)] | None = None
    reason: Reason | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _number_or_word(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("a result is a number, or one of the test's words")
        return value

    @field_validator("test")
    @classmethod
    def _known_test(cls, value: str) -> str:
        value = value.lower().replace("-", "_")
        if value not in TESTS:
            raise ValueError(f"unknown test; known: {', '.join(TESTS)}")
        return value


class SignFields(Fields):
    """An electronic signature: the password again, and what the signature means."""

    password: Annotated[Password, Field(exclude=True)]
    meaning: Meaning


class ExceptionalReleaseFields(SignFields):
    justification: Reason
    physician: Username
    physician_password: Annotated[Password, Field(exclude=True)]


class RejectFields(ReasonFields):
    """A technician rejects at receipt with a reason; QA signs its rejection."""

    password: Annotated[Password | None, Field(exclude=True)] = None
    meaning: Meaning | None = None


class AliquotFields(Fields):
    volume_ml: Volume


class SplitFields(Fields):
    aliquots: Annotated[list[AliquotFields], Field(min_length=1, max_length=26)]


class DispenseFields(Fields):
    clinician: Username
    wristband: Wristband | None = None  # when given, checked against the unit's patient


SCALP_SITES = ("frontal", "mid-scalp", "vertex", "temporal", "parietal", "occipital", "whole scalp")
METHODS = ("micro-injection", "mesotherapy")


class AdministerFields(Fields):
    wristband: Wristband
    site: Literal[SCALP_SITES]  # type: ignore[valid-type]
    method: Literal[METHODS]  # type: ignore[valid-type]
    volume_ml: Volume
    administered_at: datetime | None = None  # default: now


class ReturnFields(Fields):
    condition: Text
    reason: Reason | None = None


class NoFields(Fields):
    pass


class CompleteProcessingFields(Fields):
    products: Annotated[list[ProductFields], Field(min_length=1, max_length=8)]
    # Steps not yet recorded one by one may be given here (from the paper batch record);
    # each becomes its own record_step entry before the completion.
    steps: Annotated[list[StepFields], Field(max_length=20, exclude=True)] = []
    notes: Note | None = None


# ---------------------------------------------------------------------------- guards


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
        return f"{step.name} uses {step.reagent}: record its lot number"
    if ctx.fields.lot and not (ctx.fields.reagent or (step and step.reagent)):
        return "name the reagent the lot belongs to"
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


# ---------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    from_statuses: frozenset[Status]
    to_status: Status | None  # None: the status does not change
    roles: frozenset[Role]
    fields: type[Fields]
    guards: tuple[Guard, ...] = field(default=())  # checks of the recorded data: refusal is 422
    state_guards: tuple[Guard, ...] = field(
        default=()
    )  # checks of the unit's state: refusal is 409
    custody: str = "keep"  # "actor": the actor becomes custodian; "none": nobody holds it; "keep"
    # Narrower starting statuses for some roles (a technician rejects at receipt only).
    role_statuses: tuple[tuple[Role, frozenset[Status]], ...] = ()
    signed: bool = False  # may carry an electronic signature (a password to check)

    def statuses_for(self, role: Role | str) -> frozenset[Status]:
        return dict(self.role_statuses).get(Role(role), self.from_statuses)

    def allows(self, status: Status | str, role: Role | str) -> bool:
        return Role(role) in self.roles and Status(status) in self.statuses_for(role)


T, C, Q, SYSTEM = Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.SYSTEM
S = Status
LIVE = NON_FINAL

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "register",
            "Register collection",
            frozenset(),
            S.COLLECTED,
            frozenset({C, T}),
            RegisterFields,
            (collected_not_in_future, collection_site_fits_type),
            custody="actor",
        ),
        Action(
            "dispatch",
            "Dispatch to lab",
            frozenset({S.COLLECTED}),
            S.IN_TRANSIT,
            frozenset({C, T}),
            DispatchFields,
            state_guards=(not_expired,),
            custody="none",
        ),
        Action(
            "receive",
            "Receive",
            frozenset({S.COLLECTED, S.IN_TRANSIT}),
            S.RECEIVED,
            frozenset({T}),
            ReceiveFields,
            (receipt_within_acceptance,),
            custody="actor",
        ),
        Action(
            "start_processing",
            "Start processing",
            # a received source; or an SVF/BM-MNC product taken into culture expansion
            frozenset({S.RECEIVED, S.QUARANTINE, S.RELEASED}),
            S.IN_PROCESSING,
            frozenset({T}),
            StartProcessingFields,
            state_guards=(not_expired, has_protocol),
            custody="actor",
        ),
        Action(
            "record_step",
            "Record processing step",
            frozenset({S.IN_PROCESSING}),
            None,
            frozenset({T}),
            StepFields,
            (step_in_protocol, step_times, reagent_has_lot),
        ),
        Action(
            "complete_processing",
            "Complete processing",
            frozenset({S.IN_PROCESSING}),
            S.PROCESSED,
            frozenset({T}),
            CompleteProcessingFields,
            (products_match_source,),
            custody="actor",
        ),
        Action(
            "record_qc",
            "Record QC result",
            frozenset({S.QUARANTINE, S.RELEASED, S.DISPENSED}),
            None,
            frozenset({T}),
            QcFields,
            (sterility_only_after_release, correction_has_reason),
        ),
        Action(
            "release",
            "Release",
            RELEASABLE,
            S.RELEASED,
            frozenset({Q}),
            SignFields,
            (release_meaning,),
            state_guards=(not_expired, no_qc_alert),
            signed=True,
        ),
        Action(
            "exceptional_release",
            "Exceptional release",
            RELEASABLE,
            S.RELEASED,
            frozenset({Q}),
            ExceptionalReleaseFields,
            (release_meaning,),
            state_guards=(not_expired,),
            signed=True,
        ),
        Action(
            "split",
            "Split into aliquots",
            frozenset({S.QUARANTINE, S.RELEASED}),
            None,
            frozenset({T}),
            SplitFields,
            (aliquots_fit,),
            state_guards=(not_expired, is_product),
        ),
        Action(
            "store",
            "Store",
            LIVE,
            None,
            frozenset({T}),
            StoreFields,
            (stored_within_range,),
        ),
        Action(
            "move",
            "Move",
            LIVE,
            None,
            frozenset({T}),
            MoveFields,
            (stored_within_range,),
        ),
        Action(
            "thaw",
            "Thaw",
            LIVE,
            None,
            frozenset({T}),
            ThawFields,
            (stored_within_range,),
            state_guards=(not_expired, is_frozen),
        ),
        Action(
            "dispense",
            "Dispense to clinician",
            frozenset({S.RELEASED}),
            S.DISPENSED,
            frozenset({T}),
            DispenseFields,
            state_guards=(not_expired, no_qc_alert),
        ),
        Action(
            "administer",
            "Administer",
            frozenset({S.DISPENSED}),
            S.ADMINISTERED,
            frozenset({C}),
            AdministerFields,
            (dose_fits, administered_time),
            state_guards=(not_expired, no_qc_alert),
            custody="actor",
        ),
        Action(
            "return",
            "Return to lab",
            frozenset({S.DISPENSED}),
            S.RETURNED,
            frozenset({T, C}),
            ReturnFields,
            custody="actor",
        ),
        Action(
            "reject",
            "Reject",
            PRE_RELEASE,
            S.REJECTED,
            frozenset({T, Q}),
            RejectFields,
            (qa_signs_rejection, rejection_meaning),
            custody="actor",
            role_statuses=((T, AT_RECEIPT),),
            signed=True,
        ),
        Action(
            "discard",
            "Discard",
            NON_FINAL,
            S.DISCARDED,
            frozenset({T, Q}),
            ReasonFields,
            custody="actor",
        ),
        Action(
            "expire",
            "Expire",
            EXPIRABLE,
            S.EXPIRED,
            frozenset({SYSTEM}),
            NoFields,
            state_guards=(expiry_due,),
            custody="none",
        ),
    )
}

UNIT_ACTIONS = {name: a for name, a in ACTIONS.items() if a.from_statuses}


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}") from None


def available_actions(status: Status | str, role: Role | str) -> list[Action]:
    """Actions a user of ``role`` may start on a unit in ``status`` (before field guards)."""
    return [a for a in UNIT_ACTIONS.values() if a.allows(status, role)]
