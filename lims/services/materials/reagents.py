"""Reagent lots (product §3): receipt, QA's signed acceptance or rejection, the register's
lists, and the recall look-up — every unit and patient a lot touched.

- **Receipt** (technician, QA): the reagent a protocol step asks for (``reagent_names``),
  product, manufacturer, lot number, expiry (the last day of use), storage condition,
  quantity and its unit, and the certificate of analysis. The lot gets a register code
  (``R`` + facility + 6 digits + check character) for its label. A lot already expired is
  not received; manufacturer + product + lot number is one lot (a second receipt of it, a
  double submit too, is 409 ``duplicate_lot``). Each receipt is a ``reagent_lot_received``
  ledger entry (no unit).
- **Acceptance** (QA only, signed: the password again, meaning ``approved``): until then the
  lot cannot be used (``domain.materials.lot_problem``). Whoever received the lot may not
  accept it (409 ``two_person_rule``); an expired lot is not accepted. The
  ``reagent_lot_accepted`` entry carries the signed record and the signature's manifest;
  the lot keeps who, when and that entry. A wrong password is ``wrong_password``, which the
  entrypoints count like a failed sign-in.
- **Rejection** (QA only, signed, meaning ``rejected``, with a reason): a lot not yet
  accepted is flagged ``rejected`` and can never be accepted (``reagent_lot_rejected``).
- **Flags**: a lot is usable when accepted, not expired, with stock left; the lists and the
  lot page show why not (rejected, expired, used up, awaiting acceptance). ``uses`` flags a
  lot that runs out, the daily check one that expires.
- **Recall** (technician, QA, admin: each sees every patient of whom the lab holds a unit):
  the units a lot was used on (``material_uses``) and every unit made from them, with their
  patients, a page at a time with the totals, in one query each.

``receive_lot`` and ``accept_lot`` take plain values and act at ``utcnow()`` (the demo
replay sets the moment); ``receive`` and ``accept``/``reject`` take a request's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    distinct,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased, joinedload

from ...db import is_postgres, lock, transaction
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.ledger_chain import utc_iso
from ...domain.materials import QUANTITY_UNITS, reagent_names
from ...domain.roles import Role
from ...extensions import db
from ...labels import MIMETYPES, STOCKS, Code128, Label, LabelDoesNotFit, render
from ...models import LedgerEntry, MaterialUse, ReagentLot, Unit, User
from ...models.types import utcnow
from ...timefmt import site_zone
from .. import access
from ..custody import ledger, signatures
from .registry import get_lot, lot_by_code, new_lot_code

READERS = frozenset({Role.TECHNICIAN, Role.QA, Role.ADMIN})
RECEIVERS = frozenset({Role.TECHNICIAN, Role.QA})
DECIDERS = frozenset({Role.QA})
RECALL_READERS = READERS  # each sees every patient of whom the lab holds a unit

RECEIVED, ACCEPTED, REJECTED = (
    "reagent_lot_received",
    "reagent_lot_accepted",
    "reagent_lot_rejected",
)
ACTIONS = (RECEIVED, ACCEPTED, REJECTED)
ACTION_LABELS = {
    RECEIVED: "Lot received",
    ACCEPTED: "Accepted by QA (signed)",
    REJECTED: "Rejected by QA (signed)",
}
# The one meaning each signature on a lot may carry.
APPROVED, REJECTED_MEANING = "approved", "rejected"

# Storage conditions as the lab's fridges, freezers and shelves are: chosen, not typed.
# The words of a unit label's storage line ("at or below"), which every printer can print.
STORAGE_CONDITIONS = (
    "15–25 °C",
    "2–8 °C",
    "at or below -20 °C",
    "at or below -80 °C",
    "at or below -150 °C (LN2 vapour)",
)
MAX_SHELF_YEARS = 10  # an expiry further ahead is a typing mistake
MIN_QUANTITY, MAX_QUANTITY = 0.001, 1_000_000
REASON_MAX = 1000
MAX_PAGE = 100_000

# What a lot is now, for lists and pages: the first that applies, in this order.
STATES = ("usable", "awaiting", "flagged", "all")
STATE_LABELS = {
    "rejected": "Rejected by QA",
    "expired": "Expired",
    "used_up": "Used up",
    "awaiting": "Awaiting QA acceptance",
    "usable": "Usable",
}
EXPIRING_DAYS = 30  # the list warns this many days before a lot's expiry

# Characters no record may hold (``api.body`` refuses them in JSON; forms come here too).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _plain(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise ValueError("contains a control character")
    return " ".join(value.split())


def _text(max_length: int, words: str) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_plain),
        Field(description=words),
    ]


def _iso_date(value: Any) -> Any:
    """A date as written (``YYYY-MM-DD``); not a number of seconds pydantic would take."""
    if isinstance(value, bool | int | float):
        raise ValueError("give the date as YYYY-MM-DD")
    return value


Reagent = Annotated[
    Literal[reagent_names()],  # type: ignore[valid-type]
    Field(description="the reagent a protocol step asks for"),
]
ProductName = _text(120, "the product's name as the manufacturer writes it")
Manufacturer = _text(120, "the manufacturer")
LotNumber = _text(60, "the manufacturer's lot number")
ExpiresOn = Annotated[
    date,
    BeforeValidator(_iso_date),
    Field(description="the last day the lot may be used (YYYY-MM-DD)"),
]
Storage = Annotated[
    Literal[STORAGE_CONDITIONS],  # type: ignore[valid-type]
    Field(description="how the lot is stored"),
]
Quantity = Annotated[
    float,
    Field(
        strict=True,
        ge=MIN_QUANTITY,
        le=MAX_QUANTITY,
        allow_inf_nan=False,
        description="how much was received, in quantity_unit",
    ),
]
QuantityUnit = Annotated[
    Literal[QUANTITY_UNITS],  # type: ignore[valid-type]
    Field(description="the unit of the quantity"),
]
CoaRef = _text(120, "the certificate of analysis: its number or reference")
Reason = _text(REASON_MAX, "why the lot is rejected")


class ReceiveFields(BaseModel):
    """A lot as received: what the delivery note, the label and the certificate say."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reagent: Reagent
    product_name: ProductName
    manufacturer: Manufacturer
    lot_number: LotNumber
    expires_on: ExpiresOn
    storage: Storage
    quantity: Quantity
    quantity_unit: QuantityUnit
    coa_ref: CoaRef


Password = Annotated[str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=False)]


class AcceptFields(BaseModel):
    """QA's signed acceptance: the password again and the signature's one meaning."""

    model_config = ConfigDict(extra="forbid")

    password: Password = Field(description="the signer's own password, typed again")
    meaning: Literal["approved"] = Field(description="the meaning of the signature: approved")


class RejectFields(BaseModel):
    """QA's signed rejection of a lot not yet accepted, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason
    password: Password = Field(description="the signer's own password, typed again")
    meaning: Literal["rejected"] = Field(description="the meaning of the signature: rejected")


NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)


# ---------------------------------------------------------------------------- helpers


def _require(user: User, roles: frozenset[Role], doing: str) -> None:
    if user.role not in {r.value for r in roles}:
        who = " or ".join(sorted(r.value for r in roles))
        raise Forbidden(f"only {who} may {doing}", code="role_not_allowed")


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None, what: str) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid(f"the {what} must be an object of fields", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str, code: str = "invalid_fields") -> Invalid:
    return Invalid(f"invalid data — {field}: {message}", code=code, fields={field: message})


def today() -> date:
    """The day lots are judged on: the site's calendar day (a lot's "use by" is a day on the
    lab's calendar; the daily check that flags expired lots uses the same)."""
    return utcnow().astimezone(site_zone()).date()


def find_lot(lot_id: object, viewer: User) -> ReagentLot:
    """The lot with this id (a path's or a body's); anything else is "no such lot"."""
    _require(viewer, READERS, "see reagent lots")
    if isinstance(lot_id, str) and lot_id.isascii() and lot_id.isdigit():
        lot_id = int(lot_id)
    if isinstance(lot_id, bool) or not isinstance(lot_id, int):
        raise NotFound(f"no reagent lot with id {str(lot_id)[:40]}")
    return get_lot(lot_id)


def find_by_code(code: object, viewer: User) -> ReagentLot:
    """The lot a scanned or typed ``R…`` code names (the scan box)."""
    _require(viewer, READERS, "see reagent lots")
    return lot_by_code(code)


# ---------------------------------------------------------------------------- state


def state_of(lot: ReagentLot, on: date | None = None) -> str:
    """``rejected``, ``expired``, ``used_up``, ``awaiting`` (QA's acceptance) or ``usable``."""
    on = on or today()
    if lot.flagged == "rejected":
        return "rejected"
    if lot.flagged == "expired" or on > lot.expires_on:
        return "expired"
    if lot.flagged == "used_up" or lot.quantity_remaining <= 0:
        return "used_up"
    if lot.accepted_at is None:
        return "awaiting"
    return "usable"


def is_flagged(state: str) -> bool:
    return state in ("rejected", "expired", "used_up")


def expiring_soon(lot: ReagentLot, on: date | None = None) -> int | None:
    """Days left when a usable or awaiting lot expires within ``EXPIRING_DAYS``, else None."""
    on = on or today()
    left = (lot.expires_on - on).days
    return left if 0 <= left <= EXPIRING_DAYS else None


def _state_condition(state: str, on: date) -> ColumnElement[bool] | None:
    flag = func.coalesce(ReagentLot.flagged, "")  # NULL would make NOT (…) unknown
    expired = or_(flag == "expired", ReagentLot.expires_on < on)
    used_up = or_(flag == "used_up", ReagentLot.quantity_remaining <= 0)
    rejected = flag == "rejected"
    if state == "usable":
        return and_(ReagentLot.accepted_at.is_not(None), ~rejected, ~expired, ~used_up)
    if state == "awaiting":
        return and_(ReagentLot.accepted_at.is_(None), ~rejected, ~expired, ~used_up)
    if state == "flagged":
        return or_(rejected, expired, used_up)
    return None


# ---------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class LotPage:
    rows: list[ReagentLot]
    page: int
    per_page: int
    total: int
    reagent: str
    state: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filters(reagent: str, state: str, on: date) -> list[ColumnElement[bool]]:
    problems = {}
    if reagent and reagent not in reagent_names():
        problems["reagent"] = "choose a reagent from the list"
    if state not in STATES:
        problems["state"] = f"choose one of {', '.join(STATES)}"
    if problems:
        summary = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise Invalid(f"unknown filter — {summary}", code="invalid_filter", fields=problems)
    found: list[ColumnElement[bool]] = []
    if reagent:
        found.append(ReagentLot.reagent == reagent)
    condition = _state_condition(state, on)
    if condition is not None:
        found.append(condition)
    return found


def list_lots(
    viewer: User, *, reagent: str = "", state: str = "all", page: int = 1, per_page: int = 25
) -> LotPage:
    """Lots newest received first, of one reagent and in one state if asked."""
    _require(viewer, READERS, "see reagent lots")
    where = _filters(reagent, state, today())
    page = min(max(1, page), MAX_PAGE)
    total = db.session.scalar(select(func.count()).select_from(ReagentLot).where(*where)) or 0
    rows = list(
        db.session.scalars(
            select(ReagentLot)
            .options(joinedload(ReagentLot.received_by), joinedload(ReagentLot.accepted_by))
            .where(*where)
            .order_by(ReagentLot.received_at.desc(), ReagentLot.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    return LotPage(rows, page, per_page, total, reagent, state)


def counts_by_state(viewer: User) -> dict[str, int]:
    """How many lots are usable, awaiting QA and flagged (the list's tabs), one query."""
    _require(viewer, READERS, "see reagent lots")
    on = today()
    columns = [
        func.coalesce(func.sum(case((_state_condition(s, on), 1), else_=0)), 0).label(s)
        for s in ("usable", "awaiting", "flagged")
    ]
    row = db.session.execute(select(*columns, func.count().label("all"))).one()
    return dict(row._mapping)


def lot_history(lot: ReagentLot) -> list[LedgerEntry]:
    """The register's ledger entries about this lot, oldest first."""
    key = f'"lot_id":{lot.id}'
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.unit_id.is_(None),
                LedgerEntry.action.in_(ACTIONS),
                or_(LedgerEntry.data.contains(key + ","), LedgerEntry.data.contains(key + "}")),
            )
            .order_by(LedgerEntry.seq)
        )
    )


def use_summary(lot: ReagentLot) -> tuple[int, float]:
    """How many uses this lot has had and how much they took."""
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(MaterialUse.quantity), 0.0)).where(
            MaterialUse.reagent_lot_id == lot.id
        )
    ).one()
    return int(row[0]), float(row[1])


# ---------------------------------------------------------------------------- receipt


def lot_facts(lot: ReagentLot) -> dict[str, Any]:
    """What the ledger records of a lot as received (also the bench seed's entries)."""
    return {
        "lot_id": lot.id,
        "code": lot.code,
        "reagent": lot.reagent,
        "product_name": lot.product_name,
        "manufacturer": lot.manufacturer,
        "lot_number": lot.lot_number,
        "expires_on": lot.expires_on.isoformat(),
        "storage": lot.storage,
        "quantity_received": lot.quantity_received,
        "quantity_unit": lot.quantity_unit,
        "coa_ref": lot.coa_ref,
    }


def _check_expiry(expires_on: date, on: date) -> None:
    if expires_on < on:
        raise _bad(
            "expires_on",
            f"this lot expired on {expires_on.isoformat()}: an expired lot is not received "
            "(return it to the supplier)",
            code="expired_at_receipt",
        )
    if expires_on > on + timedelta(days=366 * MAX_SHELF_YEARS):
        raise _bad("expires_on", f"more than {MAX_SHELF_YEARS} years ahead; check the date")


def _same_lot(fields: ReceiveFields) -> ReagentLot | None:
    """A lot already received with this manufacturer, product and lot number (any case)."""
    return db.session.scalar(
        select(ReagentLot).where(
            func.lower(ReagentLot.manufacturer) == fields.manufacturer.lower(),
            func.lower(ReagentLot.product_name) == fields.product_name.lower(),
            func.lower(ReagentLot.lot_number) == fields.lot_number.lower(),
        )
    )


def _receive(fields: ReceiveFields, actor: User) -> ReagentLot:
    _require(actor, RECEIVERS, "receive reagent lots")
    now = utcnow()
    _check_expiry(fields.expires_on, today())
    with transaction():
        lock("lims.reagent_lots")  # two receipts of one lot: the second finds the first
        twin = _same_lot(fields)
        if twin is not None:
            raise Conflict(
                f"{fields.manufacturer} {fields.product_name} lot {fields.lot_number} was "
                f"received already, as {twin.code} ({utc_iso(twin.received_at)[:10]}): one "
                "lot is received once",
                code="duplicate_lot",
            )
        lot = ReagentLot(
            code=new_lot_code(),
            reagent=fields.reagent,
            product_name=fields.product_name,
            manufacturer=fields.manufacturer,
            lot_number=fields.lot_number,
            expires_on=fields.expires_on,
            storage=fields.storage,
            quantity_received=round(fields.quantity, 6),
            quantity_remaining=round(fields.quantity, 6),
            quantity_unit=fields.quantity_unit,
            coa_ref=fields.coa_ref,
            received_by_id=actor.id,
            received_at=now,
        )
        db.session.add(lot)
        db.session.flush()
        ledger.append(
            unit=None,
            action=RECEIVED,
            actor=actor,
            movement=NO_MOVEMENT,
            data=lot_facts(lot),
            at=now,
        )
    return lot


def receive(data: Mapping[str, Any] | None, actor: User) -> ReagentLot:
    """A lot received from a request's fields (the form, the API)."""
    _require(actor, RECEIVERS, "receive reagent lots")
    return _receive(_validated(ReceiveFields, data, "lot"), actor)


def receive_lot(
    actor: User,
    *,
    reagent: str,
    product_name: str,
    manufacturer: str,
    lot_number: str,
    expires_on: date | str,
    storage: str,
    quantity: float,
    quantity_unit: str,
    coa_ref: str,
) -> ReagentLot:
    """Receive a lot now (``utcnow()``): the same checks and ledger entry as ``receive``."""
    return receive(
        {
            "reagent": reagent,
            "product_name": product_name,
            "manufacturer": manufacturer,
            "lot_number": lot_number,
            "expires_on": expires_on.isoformat() if isinstance(expires_on, date) else expires_on,
            "storage": storage,
            "quantity": float(quantity),
            "quantity_unit": quantity_unit,
            "coa_ref": coa_ref,
        },
        actor,
    )


# ---------------------------------------------------------------------------- QA's decision


def _undecided(lot: ReagentLot) -> None:
    if lot.flagged == "rejected":
        raise Conflict(f"lot {lot.code} was rejected by QA: it is never used", code="lot_rejected")
    if lot.accepted_at is not None:
        who = lot.accepted_by.full_name if lot.accepted_by else "QA"
        raise Conflict(
            f"lot {lot.code} was accepted already ({who}, {utc_iso(lot.accepted_at)}): "
            "an acceptance is signed once",
            code="already_accepted",
        )


def _second_person(lot: ReagentLot, actor: User, doing: str) -> None:
    if lot.received_by_id == actor.id:
        raise Conflict(
            f"{actor.full_name} received lot {lot.code} and may not {doing} it: a second "
            "person reviews a receipt",
            code="two_person_rule",
        )


def signed_record(lot: ReagentLot, action: str, meaning: str, reason: str | None) -> dict:
    """What QA's signature on a decision about ``lot`` is bound to."""
    record: dict[str, Any] = {
        "action": action,
        "meaning": meaning,
        "lot": {
            **lot_facts(lot),
            "received_by_id": lot.received_by_id,
            "received_at": utc_iso(lot.received_at),
        },
    }
    if reason is not None:
        record["reason"] = reason
    return record


def _decide(
    lot_id: object,
    actor: User,
    *,
    action: str,
    password: str,
    meaning: str,
    reason: str | None = None,
) -> ReagentLot:
    """Sign QA's decision on a lot not yet decided; nothing changes on any refusal."""
    doing = "accept" if action == ACCEPTED else "reject"
    _require(actor, DECIDERS, f"{doing} reagent lots")
    now = utcnow()
    with transaction():
        lot = find_lot(lot_id, actor)
        _undecided(lot)
        _second_person(lot, actor, doing)
        if action == ACCEPTED and today() > lot.expires_on:
            raise Conflict(
                f"lot {lot.code} expired on {lot.expires_on.isoformat()}: an expired lot is "
                "not accepted; reject it",
                code="lot_expired",
            )
        signatures.check_password(actor, password)
        record = signed_record(lot, action, meaning, reason)
        draft = signatures.sign(actor, record, meaning, now)
        values: dict[str, Any] = (
            {"accepted_by_id": actor.id, "accepted_at": now}
            if action == ACCEPTED
            else {"flagged": "rejected"}
        )
        # The claim: of two concurrent decisions only one finds the lot still undecided.
        claimed = db.session.execute(
            update(ReagentLot)
            .where(
                ReagentLot.id == lot.id,
                ReagentLot.accepted_at.is_(None),
                or_(ReagentLot.flagged.is_(None), ReagentLot.flagged != "rejected"),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(
                f"lot {lot.code} was decided by someone else meanwhile; reload",
                code="already_decided",
            )
        entry = ledger.append(
            unit=None,
            action=action,
            actor=actor,
            movement=NO_MOVEMENT,
            data={
                "lot_id": lot.id,
                "code": lot.code,
                "signed_record": record,
                "signatures": [draft.manifest()],
            },
            reason=reason,
            at=now,
        )
        if action == ACCEPTED:
            db.session.execute(
                update(ReagentLot)
                .where(ReagentLot.id == lot.id)
                .values(acceptance_entry_id=entry.id)
                .execution_options(synchronize_session=False)
            )
    db.session.expire(lot)
    return lot


def accept(lot_id: object, data: Mapping[str, Any] | None, actor: User) -> ReagentLot:
    """QA's signed acceptance from a request's fields (``password``, ``meaning``)."""
    _require(actor, DECIDERS, "accept reagent lots")
    fields: AcceptFields = _validated(AcceptFields, data, "acceptance")
    return _decide(lot_id, actor, action=ACCEPTED, password=fields.password, meaning=fields.meaning)


def accept_lot(lot_id: int, actor: User, password: str) -> ReagentLot:
    """QA accepts a lot now (``utcnow()``), signing with ``password`` (meaning approved)."""
    return accept(lot_id, {"password": password, "meaning": APPROVED}, actor)


def reject(lot_id: object, data: Mapping[str, Any] | None, actor: User) -> ReagentLot:
    """QA's signed rejection from a request's fields (``reason``, ``password``, ``meaning``)."""
    _require(actor, DECIDERS, "reject reagent lots")
    fields: RejectFields = _validated(RejectFields, data, "rejection")
    return _decide(
        lot_id,
        actor,
        action=REJECTED,
        password=fields.password,
        meaning=fields.meaning,
        reason=fields.reason,
    )


def reject_lot(lot_id: int, actor: User, password: str, reason: str) -> ReagentLot:
    """QA rejects a lot not yet accepted, now, signing with ``password`` (meaning rejected)."""
    return reject(
        lot_id, {"reason": reason, "password": password, "meaning": REJECTED_MEANING}, actor
    )


# ---------------------------------------------------------------------------- recall


@dataclass(frozen=True)
class RecallRow:
    """One unit the lot touched: used on it directly, or made from a unit it was used on."""

    unit: Unit
    direct: bool
    via: Unit | None  # for a unit made from a touched one: the nearest touched ancestor
    uses: list[MaterialUse]  # this lot's uses on this very unit, oldest first


@dataclass(frozen=True)
class Recall:
    lot: ReagentLot
    rows: list[RecallRow]
    page: int
    per_page: int
    total: int  # units touched, directly or through what they were made from
    direct: int  # units the lot was used on
    patients: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _affected(lot_id: int) -> Any:
    """Each unit the lot touched once: ``unit_id``, ``direct`` (1: used on it) and ``via``
    (the nearest touched unit it descends from, for one made from it). A recursive query
    down ``units.parent_id`` from the lot's uses (index ``ix_material_uses_lot``)."""
    used = (
        select(MaterialUse.unit_id.label("unit_id"), MaterialUse.unit_id.label("via"))
        .where(MaterialUse.reagent_lot_id == lot_id)
        .cte("touched", recursive=True)
    )
    child = aliased(Unit)
    touched = used.union(select(child.id, used.c.via).join(used, child.parent_id == used.c.unit_id))
    direct = func.max(case((touched.c.unit_id == touched.c.via, 1), else_=0))
    nearest = func.max(case((touched.c.unit_id != touched.c.via, touched.c.via), else_=None))
    return (
        select(
            touched.c.unit_id.label("unit_id"),
            direct.label("direct"),
            nearest.label("via"),
        )
        .group_by(touched.c.unit_id)
        .cte("affected")
    )


def recall(lot_id: object, viewer: User, *, page: int = 1, per_page: int = 50) -> Recall:
    """One page of the units a lot touched (by DIN, so a collection's units stay together),
    with the totals: units, units used on directly, patients.

    One statement walks the lineage once and answers both the totals and the page (the
    totals left-joined to the page, so a page past the end still counts); two more read the
    page's units with their patients and ancestors, and the lot's uses on them."""
    _require(viewer, RECALL_READERS, "see which units a reagent lot touched")
    lot = find_lot(lot_id, viewer)
    page = min(max(1, page), MAX_PAGE)
    if is_postgres():
        # The recursive walk's row estimate is generous (ten times its start per level), which
        # can lift the plan's cost over PostgreSQL's JIT threshold: half a second of compiling
        # for a query that runs in tens of milliseconds. This transaction does without.
        db.session.execute(text("SET LOCAL jit = off"))
    affected = _affected(lot.id)
    seen = access.visible_units(viewer)  # technician, QA, admin: every unit the lab holds
    joined = (
        select(affected.c.unit_id, affected.c.direct, affected.c.via, Unit.din, Unit.patient_id)
        .join(Unit, Unit.id == affected.c.unit_id)
        .where(seen)
        .cte("joined")
    )
    totals = select(
        func.count().label("units"),
        func.coalesce(func.sum(joined.c.direct), 0).label("direct"),
        func.count(distinct(joined.c.patient_id)).label("patients"),
    ).subquery("totals")
    shown = (
        select(joined)
        .order_by(joined.c.din, joined.c.unit_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("shown")
    )
    found = db.session.execute(
        select(
            totals.c.units,
            totals.c.direct,
            totals.c.patients,
            shown.c.unit_id,
            shown.c.direct.label("is_direct"),
            shown.c.via,
        )
        .select_from(totals.outerjoin(shown, true()))
        .order_by(shown.c.din, shown.c.unit_id)
    ).all()
    first = found[0]
    listed = [(row.unit_id, bool(row.is_direct), row.via) for row in found if row.unit_id]
    return Recall(
        lot,
        _rows(lot, listed),
        page,
        per_page,
        int(first.units),
        int(first.direct),
        int(first.patients),
    )


def _rows(lot: ReagentLot, listed: list[tuple[int, bool, int | None]]) -> list[RecallRow]:
    """The page's units (with patients) and ancestors in one query, the lot's uses on them
    in another."""
    wanted = {unit_id for unit_id, _, _ in listed} | {via for _, _, via in listed if via}
    units = (
        {
            u.id: u
            for u in db.session.scalars(
                select(Unit).options(joinedload(Unit.patient)).where(Unit.id.in_(wanted))
            )
        }
        if wanted
        else {}
    )
    direct_ids = [unit_id for unit_id, direct, _ in listed if direct]
    uses: dict[int, list[MaterialUse]] = {}
    if direct_ids:
        for use in db.session.scalars(
            select(MaterialUse)
            .where(MaterialUse.reagent_lot_id == lot.id, MaterialUse.unit_id.in_(direct_ids))
            .order_by(MaterialUse.id)
        ):
            uses.setdefault(use.unit_id, []).append(use)
    return [
        RecallRow(units[unit_id], direct, units.get(via) if via else None, uses.get(unit_id, []))
        for unit_id, direct, via in listed
    ]


def recall_rows(lot_id: object, viewer: User, batch: int = 1000) -> Iterator[RecallRow]:
    """Every unit the lot touched, a batch at a time (the CSV export)."""
    first = recall(lot_id, viewer, page=1, per_page=batch)
    yield from first.rows
    for page in range(2, first.pages + 1):
        yield from recall(lot_id, viewer, page=page, per_page=batch).rows


def first_use(row: RecallRow) -> datetime | None:
    return row.uses[0].used_at if row.uses else None


# ---------------------------------------------------------------------------- label

LABEL_FORMATS = ("svg", "pdf", "zpl")
LABEL_STOCK = "tube"  # a 2" x 1" label fits a bottle, a vial or a box


@dataclass(frozen=True)
class LotLabel:
    content: bytes
    mimetype: str
    filename: str


def label_of(lot: ReagentLot) -> Label:
    """What a lot's label says: the reagent and product, the lot and its expiry, storage,
    and the register code to scan at the bench (not its state, which changes)."""
    storage = lot.storage if lot.storage.startswith("at ") else f"at {lot.storage}"
    lines = (
        f"{lot.reagent}: {lot.product_name}",
        f"{lot.manufacturer}, lot {lot.lot_number}",
        f"Use by {lot.expires_on.isoformat()}",
        f"Store {storage}",
        f"CoA {lot.coa_ref}",
    )
    return Label(
        "reagent_lot",
        lines,
        (Code128(lot.code),),
        identifier=(f"{lot.code[:6]} {lot.code[6:-1]}", lot.code[-1]),
    )


def print_label(lot_id: object, viewer: User, fmt: str = "pdf", copies: int = 1) -> LotLabel:
    """The lot's label as SVG (a preview), a PDF sheet or ZPL, ``copies`` of it.

    Not a ledger entry, unlike a unit's label: it names no patient and only carries the
    register code, which names this lot however often it is printed."""
    _require(viewer, READERS, "print reagent-lot labels")
    lot = find_lot(lot_id, viewer)
    if fmt not in LABEL_FORMATS:
        raise _bad("format", f"choose one of {', '.join(LABEL_FORMATS)}")
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= 100:
        raise _bad("copies", "from 1 to 100")
    try:
        content = render(label_of(lot), STOCKS[LABEL_STOCK], fmt, copies=copies)
    except LabelDoesNotFit as exc:
        raise Invalid(str(exc), code="label_does_not_fit", fields={"format": str(exc)}) from None
    return LotLabel(content, MIMETYPES[fmt], f"{lot.code}-label.{fmt}")
