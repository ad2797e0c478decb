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
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from .catalogue import CATALOGUE, SOURCE_TYPES, products_of, unit_type
from .roles import Role


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

# ---------------------------------------------------------------------------- fields

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# Numbers and yes/no answers are strict: "250" or true is not a volume, 1 is not "yes".
# (Forms convert typed text to numbers before calling a service.)
Volume = Annotated[float, Field(gt=0, le=5000, allow_inf_nan=False, strict=True)]


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


class MoveFields(Fields):
    """Where a unit now is: a scanned or typed location code (the service resolves it)."""

    location: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    storage_temperature_c: (
        Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)] | None
    ) = None


class CompleteProcessingFields(Fields):
    products: Annotated[list[ProductFields], Field(min_length=1, max_length=8)]
    notes: Note | None = None


# ---------------------------------------------------------------------------- guards


class UnitFacts(Protocol):
    """What guards may read of a unit (the model satisfies this)."""

    unit_type: str
    status: str
    collected_at: datetime
    expires_at: datetime | None


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

    def statuses_for(self, role: Role | str) -> frozenset[Status]:
        return dict(self.role_statuses).get(Role(role), self.from_statuses)

    def allows(self, status: Status | str, role: Role | str) -> bool:
        return Role(role) in self.roles and Status(status) in self.statuses_for(role)


T, C, Q = Role.TECHNICIAN, Role.CLINICIAN, Role.QA

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "register",
            "Register collection",
            frozenset(),
            Status.COLLECTED,
            frozenset({C, T}),
            RegisterFields,
            (collected_not_in_future, collection_site_fits_type),
            custody="actor",
        ),
        Action(
            "dispatch",
            "Dispatch to lab",
            frozenset({Status.COLLECTED}),
            Status.IN_TRANSIT,
            frozenset({C, T}),
            DispatchFields,
            state_guards=(not_expired,),
            custody="none",
        ),
        Action(
            "receive",
            "Receive",
            frozenset({Status.COLLECTED, Status.IN_TRANSIT}),
            Status.RECEIVED,
            frozenset({T}),
            ReceiveFields,
            (receipt_within_acceptance,),
            custody="actor",
        ),
        Action(
            "start_processing",
            "Start processing",
            frozenset({Status.RECEIVED}),
            Status.IN_PROCESSING,
            frozenset({T}),
            StartProcessingFields,
            state_guards=(not_expired,),
            custody="actor",
        ),
        Action(
            "complete_processing",
            "Complete processing",
            frozenset({Status.IN_PROCESSING}),
            Status.PROCESSED,
            frozenset({T}),
            CompleteProcessingFields,
            (products_match_source,),
            custody="actor",
        ),
        Action(
            "reject",
            "Reject",
            PRE_RELEASE,
            Status.REJECTED,
            frozenset({T, Q}),
            ReasonFields,
            custody="actor",
            role_statuses=((T, AT_RECEIPT),),
        ),
        Action(
            "move",
            "Move / store",
            NON_FINAL,
            None,
            frozenset({T}),
            MoveFields,
        ),
        Action(
            "discard",
            "Discard",
            NON_FINAL,
            Status.DISCARDED,
            frozenset({T, Q}),
            ReasonFields,
            custody="actor",
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
