"""Shipments between sites (decision 102): packed at the sending site by scanning units in,
checked by a second person and dispatched; scanned in at the receiving site, where every item
is accepted, missing, damaged or unexpected.

Each unit's custody moves through the ledger, every entry naming the shipment: a collection
is ``dispatch``ed and ``receive``d through the lifecycle (its status goes ``collected`` →
``in transit`` → ``received``, with receipt's acceptance checks); a product (quarantined or
released, e.g. MSC aliquots going back to the clinic) keeps its status and is ``ship``ped
(nobody holds it) and ``arrive``s (the receiver holds it). The shipment itself has its own
entries (``shipment_created``, ``shipment_item_added``/``_removed``, ``shipment_dispatched``,
``shipment_received``, ``shipment_cancelled``). While a shipment is on its way its units are
acted on only through it (``units.refuse_in_shipment``).

A discrepancy on arrival — an item missing, damaged or unexpected, or the arrival temperature
outside the shipping condition — needs the receiver's note, opens a deviation on each unit
concerned (kind ``shipment_discrepancy``, naming the shipment) and tells QA at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...db import lock, transaction
from ...domain import codes
from ...domain import shipments as words
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.lifecycle import ReceiveFields as UnitReceipt
from ...domain.lifecycle import Status, receipt_acceptance
from ...domain.roles import Role
from ...domain.shipments import Outcome, ShipmentStatus
from ...extensions import db
from ...models import Deviation, Shipment, ShipmentItem, Site, Unit, User
from ...models.types import utcnow
from ...notify import outbox
from .. import access, sequences
from ..actions import units
from ..custody import ledger, signatures
from . import scan

SHIPPERS = frozenset({Role.TECHNICIAN.value, Role.CLINICIAN.value})
SEE_ALL = frozenset({Role.QA.value, Role.ADMIN.value})
# What may travel: a collection on its way to the lab, or a product before or after release.
SHIPPABLE = frozenset({Status.COLLECTED.value, Status.QUARANTINE.value, Status.RELEASED.value})
OPEN = (ShipmentStatus.PREPARING.value, ShipmentStatus.DISPATCHED.value)
LOCK = "lims.shipments"
MAX_SCANS = 400
DEVIATION_KIND = "shipment_discrepancy"

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Optional80 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RecordId = Annotated[int, Field(gt=0, le=MAX_ID, strict=True)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ShipmentIn(_In):
    from_site: RecordId
    to_site: RecordId
    container: Short
    courier: Short
    tracking_number: Optional80 | None = None
    condition: Literal["refrigerated", "ambient", "dry_ice", "dry_shipper"]
    logger_id: Optional80 | None = None
    note: Note | None = None


class ItemIn(_In):
    code: Code | None = None
    unit_id: RecordId | None = None


class DispatchIn(_In):
    checked_by: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)
    ]
    checked_by_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    expected_by: AwareDatetime | None = None


class ReceiveIn(_In):
    arrival_temperature_c: Annotated[float, Field(ge=-200, le=60, allow_inf_nan=False, strict=True)]
    scanned: Annotated[list[Code], Field(max_length=MAX_SCANS)]
    damaged: Annotated[list[Code], Field(max_length=MAX_SCANS)] = []
    note: Note | None = None


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("send the fields as an object", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


# ---------------------------------------------------------------------------- who may


def _site_ids(user: User) -> set[int]:
    return {site.id for site in user.sites}  # type: ignore[attr-defined]


def _require_shipper(actor: User, doing: str) -> None:
    if actor.role not in SHIPPERS:
        raise Forbidden(
            f"only technicians and clinicians {doing}; you are {actor.role}",
            code="role_not_allowed",
        )


def _require_member(actor: User, site: Site, doing: str) -> None:
    if site.id not in _site_ids(actor):
        raise Forbidden(
            f"you are not a member of {site.name} ({site.code}): only its people {doing}",
            code="not_a_member",
        )


def _may_see(actor: User, shipment: Shipment) -> bool:
    if actor.role in SEE_ALL:
        return True
    return bool({shipment.from_site_id, shipment.to_site_id} & _site_ids(actor))


# ---------------------------------------------------------------------------- reading


def get(shipment_id: object, actor: User) -> Shipment:
    """The shipment, if the actor may see it (QA and admin: all; others: their sites')."""
    ident = access.record_id(shipment_id)
    shipment = None
    if ident is not None:
        shipment = db.session.scalar(
            select(Shipment)
            .where(Shipment.id == ident)
            .options(selectinload(Shipment.items).joinedload(ShipmentItem.unit))
        )
    if shipment is None or not _may_see(actor, shipment):
        raise NotFound(f"no shipment with id {str(shipment_id)[:40]}", code="unknown_shipment")
    return shipment


def by_code(code: object, actor: User) -> Shipment:
    """The shipment a manifest's barcode names."""
    text = code.strip().upper() if isinstance(code, str) else ""
    if not words.is_code(text):
        raise Invalid(
            "a shipment's code is SH, the facility number, the year and six digits",
            code="not_a_shipment_code",
            fields={"code": "not a shipment code"},
        )
    found = db.session.scalar(select(Shipment.id).where(Shipment.code == text))
    if found is None:
        raise NotFound(f"no shipment {text}", code="unknown_shipment")
    return get(found, actor)


def list_shipments(actor: User, status: str | None = None, limit: int = 200) -> list[Shipment]:
    """Newest first: every shipment for QA and admin, the actor's sites' for others."""
    stmt = select(Shipment).order_by(Shipment.id.desc()).limit(limit)
    if status:
        if status not in {s.value for s in ShipmentStatus}:
            known = ", ".join(s.value for s in ShipmentStatus)
            raise Invalid(
                f"unknown status {status[:40]!r}: choose one of {known}",
                code="invalid_filter",
                fields={"status": f"one of {known}"},
            )
        stmt = stmt.where(Shipment.status == status)
    if actor.role not in SEE_ALL:
        mine = _site_ids(actor)
        stmt = stmt.where(Shipment.from_site_id.in_(mine) | Shipment.to_site_id.in_(mine))
    return list(db.session.scalars(stmt))


def holding(unit_id: int) -> Shipment | None:
    """The dispatched shipment a unit travels in (for its page's banner)."""
    return units.shipment_holding(unit_id)


def visible_unit_ids(shipment: Shipment, actor: User) -> set[int]:
    """The shipment's units the actor may open (a unit of another site opens once received)."""
    ids = [item.unit_id for item in shipment.items if item.unit_id]
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Unit.id).where(Unit.id.in_(ids), access.visible_units(actor)))
    )


def manifest(shipment: Shipment) -> list[ShipmentItem]:
    return [item for item in shipment.items if item.on_manifest]


# ---------------------------------------------------------------------------- ledger


NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)


def _ref(shipment: Shipment) -> dict[str, Any]:
    return {"id": shipment.id, "code": shipment.code}


def _unit_ref(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "din": unit.din,
        "product_code": unit.product_code,
        "division": unit.division,
    }


def _append(action: str, actor: User, at: datetime, data: dict[str, Any]) -> None:
    ledger.append(unit=None, action=action, actor=actor, movement=NO_MOVEMENT, data=data, at=at)


def _append_on(unit: Unit, action: str, actor: User, at: datetime, data: dict[str, Any]) -> None:
    ledger.append(
        unit=unit, action=action, actor=actor, movement=ledger.standing(unit), data=data, at=at
    )


# ---------------------------------------------------------------------------- packing


def create(data: Mapping[str, Any] | None, actor: User, *, at: datetime | None = None) -> Shipment:
    """A new shipment, being packed at a site the actor belongs to."""
    _require_shipper(actor, "pack shipments")
    fields: ShipmentIn = _validated(ShipmentIn, data)
    sender = db.session.get(Site, fields.from_site)
    receiver = db.session.get(Site, fields.to_site)
    problems = {}
    if sender is None or not sender.active:
        problems["from_site"] = "no such active site"
    if receiver is None or not receiver.active:
        problems["to_site"] = "no such active site"
    if problems:
        raise Invalid("choose registered, active sites", code="unknown_site", fields=problems)
    assert sender is not None and receiver is not None
    if sender.id == receiver.id:
        raise Invalid(
            "a shipment goes to another site",
            code="same_site",
            fields={"to_site": "choose another site than the sender"},
        )
    _require_member(actor, sender, "pack its shipments")
    now = at or utcnow()
    with transaction():
        number = sequences.next_value(f"SH{sender.code}", now.year)
        shipment = Shipment(
            code=words.make_code(sender.code, now.year, number),
            from_site_id=sender.id,
            to_site_id=receiver.id,
            status=ShipmentStatus.PREPARING.value,
            container=fields.container,
            courier=fields.courier,
            tracking_number=fields.tracking_number or None,
            condition=fields.condition,
            logger_id=fields.logger_id or None,
            note=fields.note or None,
            created_by_id=actor.id,
            created_at=now,
            discrepancies=0,
        )
        db.session.add(shipment)
        db.session.flush()
        _append(
            "shipment_created",
            actor,
            now,
            {
                "shipment": _ref(shipment),
                "from_site": sender.code,
                "to_site": receiver.code,
                "container": shipment.container,
                "courier": shipment.courier,
                "tracking_number": shipment.tracking_number,
                "condition": shipment.condition,
                "logger_id": shipment.logger_id,
            },
        )
    return get(shipment.id, actor)


def _open_for_packing(shipment_id: object, actor: User) -> Shipment:
    shipment = get(shipment_id, actor)
    _require_shipper(actor, "pack shipments")
    _require_member(actor, shipment.from_site, "pack its shipments")
    if shipment.status != ShipmentStatus.PREPARING.value:
        raise Conflict(
            f"shipment {shipment.code} is {shipment.status}: only a shipment being packed "
            "takes units in or out",
            code="not_preparing",
        )
    return shipment


def _resolve(code: str, actor: User, field_name: str = "code") -> Unit:
    """The one unit a scanned code names (the scan station's rules, with the actor's access)."""
    scanned = scan.classify(code, field_name)
    if not isinstance(scanned, codes.UnitCode):
        raise Invalid(
            f"this is a {codes.describe(scanned)} code; scan the unit's identifier",
            code="wrong_kind",
            fields={field_name: "not a unit code"},
        )
    found = scan.resolve_unit_code(scanned, actor)
    if found.unit is None:
        raise Invalid(
            found.message or "scan the product code barcode too",
            code="ambiguous",
            fields={field_name: "scan the product code barcode too"},
        )
    return found.unit


def _refuse_unshippable(unit: Unit, now: datetime, shipment: Shipment) -> None:
    if unit.site_id != shipment.from_site_id:
        here = db.session.get(Site, unit.site_id) if unit.site_id else None
        raise Conflict(
            f"{unit.eye_readable} {unit.product_code} is at "
            f"{here.name if here else 'no site'}, not at {shipment.from_site.name}",
            code="not_at_sending_site",
        )
    if unit.status not in SHIPPABLE:
        raise Conflict(
            f"{unit.eye_readable} {unit.product_code} is {Status(unit.status).label}: only a "
            "collection not yet dispatched, or a quarantined or released product, is shipped",
            code="not_shippable",
        )
    if unit.expires_at is not None and unit.expires_at <= now:
        raise Conflict(f"{unit.eye_readable} {unit.product_code} has expired", code="expired")
    other = db.session.scalar(
        select(Shipment)
        .join(ShipmentItem, ShipmentItem.shipment_id == Shipment.id)
        .where(
            ShipmentItem.unit_id == unit.id,
            ShipmentItem.on_manifest.is_(True),
            Shipment.status.in_(OPEN),
            Shipment.id != shipment.id,
        )
        .limit(1)
    )
    if other is not None:
        raise Conflict(
            f"{unit.eye_readable} {unit.product_code} is already in shipment {other.code}",
            code="in_other_shipment",
        )


def add_item(shipment_id: object, data: Mapping[str, Any] | None, actor: User) -> ShipmentItem:
    """Scan one unit into a shipment being packed (``code``, or ``unit_id``)."""
    fields: ItemIn = _validated(ItemIn, data)
    if (fields.code is None) == (fields.unit_id is None):
        raise Invalid(
            "scan the unit's code, or give its id: one of the two",
            code="code_or_unit",
            fields={"code": "scan the unit"},
        )
    shipment = _open_for_packing(shipment_id, actor)
    unit = (
        _resolve(fields.code, actor)
        if fields.code is not None
        else access.require_unit(actor, fields.unit_id)
    )
    now = utcnow()
    with transaction():
        lock(LOCK)
        shipment = _fresh(shipment.id)
        if shipment.status != ShipmentStatus.PREPARING.value:
            raise Conflict(f"shipment {shipment.code} is {shipment.status}", code="not_preparing")
        if any(item.unit_id == unit.id for item in shipment.items):
            raise Conflict(
                f"{unit.eye_readable} {unit.product_code} is in this shipment already",
                code="already_packed",
            )
        if len(shipment.items) >= words.MAX_ITEMS:
            raise Conflict(
                f"a shipment holds at most {words.MAX_ITEMS} units", code="shipment_full"
            )
        _refuse_unshippable(unit, now, shipment)
        item = ShipmentItem(
            shipment_id=shipment.id,
            unit_id=unit.id,
            on_manifest=True,
            outcome=Outcome.PACKED.value,
            added_by_id=actor.id,
            added_at=now,
        )
        db.session.add(item)
        _append_on(unit, "shipment_item_added", actor, now, {"shipment": _ref(shipment)})
    return item


def remove_item(shipment_id: object, item_id: object, actor: User) -> Shipment:
    """Take a unit out of a shipment being packed."""
    shipment = _open_for_packing(shipment_id, actor)
    ident = access.record_id(item_id)
    item = next((i for i in shipment.items if i.id == ident), None)
    if item is None:
        raise NotFound(f"shipment {shipment.code} has no item {str(item_id)[:40]}")
    now = utcnow()
    with transaction():
        lock(LOCK)
        current = _fresh(shipment.id)
        if current.status != ShipmentStatus.PREPARING.value:
            raise Conflict(f"shipment {current.code} is {current.status}", code="not_preparing")
        found = db.session.get(ShipmentItem, item.id)
        if found is None:
            raise NotFound(f"shipment {current.code} has no item {item.id}")
        unit = db.session.get(Unit, found.unit_id)
        db.session.delete(found)
        _append_on(unit, "shipment_item_removed", actor, now, {"shipment": _ref(current)})
    return get(shipment.id, actor)


def cancel(shipment_id: object, data: Mapping[str, Any] | None, actor: User) -> Shipment:
    """A shipment that will not leave: its units stay where they are."""
    reason = (data or {}).get("reason") if isinstance(data, Mapping) else None
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise Invalid(
            "say why the shipment is cancelled",
            code="reason_required",
            fields={"reason": "required"},
        )
    shipment = _open_for_packing(shipment_id, actor)
    now = utcnow()
    with transaction():
        lock(LOCK)
        current = _fresh(shipment.id)
        if current.status != ShipmentStatus.PREPARING.value:
            raise Conflict(f"shipment {current.code} is {current.status}", code="not_preparing")
        current.status = ShipmentStatus.CANCELLED.value
        ledger.append(
            unit=None,
            action="shipment_cancelled",
            actor=actor,
            movement=NO_MOVEMENT,
            data={"shipment": _ref(current)},
            reason=reason.strip()[:500],
            at=now,
        )
    return get(shipment.id, actor)


def _fresh(shipment_id: int) -> Shipment:
    """The shipment as committed now (after the caller's lock), whatever this session read
    of it before: another receiver may have moved it on meanwhile."""
    known = db.session.get(Shipment, shipment_id)
    if known is not None:
        db.session.expire(known)
    found = db.session.get(Shipment, shipment_id, populate_existing=True, with_for_update=True)
    assert found is not None
    db.session.refresh(found, ["items"])
    return found


# ---------------------------------------------------------------------------- dispatch


def _checker(fields: DispatchIn, actor: User) -> User:
    checker = db.session.scalar(select(User).where(User.username == fields.checked_by))
    if checker is None or not checker.active:
        raise Invalid(
            f"no active account {fields.checked_by[:40]!r} to check the packing",
            code="unknown_checker",
            fields={"checked_by": "no such active account"},
        )
    if checker.id == actor.id:
        raise Invalid(
            "a second person checks what was packed: not the packer",
            code="same_person",
            fields={"checked_by": "another person than you"},
        )
    if checker.role not in SHIPPERS | {Role.QA.value}:
        raise Invalid(
            f"{checker.full_name} ({checker.role}) does not check shipments",
            code="checker_role",
            fields={"checked_by": "a technician, clinician or QA"},
        )
    signatures.check_password(checker, fields.checked_by_password, "checked_by_password")
    return checker


def dispatch(shipment_id: object, data: Mapping[str, Any] | None, actor: User) -> Shipment:
    """The packer (the actor) and a second person who checked the packing (their password)
    send the shipment: each unit leaves custody, cited by its entry."""
    fields: DispatchIn = _validated(DispatchIn, data)
    shipment = _open_for_packing(shipment_id, actor)
    checker = _checker(fields, actor)
    now = utcnow()
    expected = (
        fields.expected_by.astimezone(UTC)
        if fields.expected_by is not None
        else now + timedelta(hours=current_app.config["SHIPMENT_EXPECTED_HOURS"])
    )
    if expected <= now:
        raise Invalid(
            "the expected arrival is in the past",
            code="expected_in_past",
            fields={"expected_by": "a time after now"},
        )
    condition = words.condition(shipment.condition)
    with transaction():
        lock(LOCK)
        current = _fresh(shipment.id)
        if current.status != ShipmentStatus.PREPARING.value:
            raise Conflict(f"shipment {current.code} is {current.status}", code="not_preparing")
        items = manifest(current)
        if not items:
            raise Conflict("scan at least one unit into the shipment", code="empty_shipment")
        cite = {"shipment": _ref(current)}
        for item in items:
            unit = access.require_unit(actor, item.unit_id)
            _refuse_unshippable(unit, now, current)
            if unit.status == Status.COLLECTED.value:
                action = units.check_allowed(unit, "dispatch", actor)
                units.act(
                    unit,
                    action,
                    {"courier": current.courier, "transport_condition": condition.label},
                    actor,
                    now,
                    recorded=cite,
                )
            else:
                before = ledger.position(unit)
                unit.custodian_id = None
                unit.location_id = None
                unit.updated_at = now
                ledger.append(
                    unit=unit,
                    action="ship",
                    actor=actor,
                    movement=ledger.movement_of(unit, before=before),
                    data={**cite, "courier": current.courier, "condition": current.condition},
                    at=now,
                )
        current.status = ShipmentStatus.DISPATCHED.value
        current.packed_by_id = actor.id
        current.checked_by_id = checker.id
        current.dispatched_at = now
        current.expected_by = expected
        _append(
            "shipment_dispatched",
            actor,
            now,
            {
                **cite,
                "packed_by": {"id": actor.id, "name": actor.full_name},
                "checked_by": {"id": checker.id, "name": checker.full_name},
                "expected_by": expected.isoformat(),
                "manifest": [_unit_ref(db.session.get(Unit, i.unit_id)) for i in items],
            },
        )
    return get(shipment.id, actor)


# ---------------------------------------------------------------------------- receipt


@dataclass
class Receipt:
    """What the receiver's scans say of the shipment, before anything is recorded."""

    accepted: list[ShipmentItem] = field(default_factory=list)
    damaged: list[ShipmentItem] = field(default_factory=list)
    missing: list[ShipmentItem] = field(default_factory=list)
    unexpected: list[tuple[str, Unit | None]] = field(default_factory=list)
    temperature_problem: str | None = None
    acceptance_problems: list[str] = field(default_factory=list)

    @property
    def discrepancies(self) -> list[str]:
        found = []
        for item in self.missing:
            found.append(f"{item.unit.eye_readable} {item.unit.product_code} missing")
        for item in self.damaged:
            found.append(f"{item.unit.eye_readable} {item.unit.product_code} damaged")
        for text, unit in self.unexpected:
            name = f"{unit.eye_readable} {unit.product_code}" if unit else text
            found.append(f"{name} unexpected (not on the manifest)")
        if self.temperature_problem:
            found.append(self.temperature_problem)
        return found


def _match(
    code: str, actor: User, items: list[ShipmentItem]
) -> tuple[ShipmentItem | None, Unit | None]:
    """The manifest item a scan names, else the unit it names (unexpected), else nothing known.
    A DIN alone that names several units is narrowed to the manifest's one unit of that DIN."""
    try:
        scanned = scan.classify(code, "scanned")
    except Invalid:
        raise
    if not isinstance(scanned, codes.UnitCode):
        raise Invalid(
            f"{code[:40]} is a {codes.describe(scanned)} code; scan the units' identifiers",
            code="wrong_kind",
            fields={"scanned": "not a unit code"},
        )
    din = scanned.din.din
    same = [
        item
        for item in items
        if item.unit.din == din
        and (
            scanned.product_code is None
            or (item.unit.product_code, item.unit.division)
            == (scanned.product_code, scanned.division or "00")
        )
    ]
    if len(same) == 1:
        return same[0], same[0].unit
    if len(same) > 1:
        raise Invalid(
            f"{code[:40]} names {len(same)} units of this shipment: scan each one's product "
            "code too (the Data Matrix carries both)",
            code="ambiguous",
            fields={"scanned": "scan the product code too"},
        )
    # Not on the manifest: whatever unit it is arrived here, whoever may see it (decision 102)
    units_of_din = db.session.scalars(select(Unit).where(Unit.din == din).order_by(Unit.id)).all()
    if scanned.product_code is not None:
        units_of_din = [
            u
            for u in units_of_din
            if (u.product_code, u.division) == (scanned.product_code, scanned.division or "00")
        ]
    live = [u for u in units_of_din if not Status(u.status).is_final] or units_of_din
    return None, (live[0] if len(live) == 1 else None)


def assess(shipment: Shipment, fields: ReceiveIn, actor: User, now: datetime) -> Receipt:
    items = manifest(shipment)
    receipt = Receipt()
    seen: dict[int, ShipmentItem] = {}
    unexpected_ids: set[int] = set()
    for code in fields.scanned:
        item, unit = _match(code, actor, items)
        if item is not None:
            seen[item.id] = item
        elif unit is not None:
            if unit.id not in unexpected_ids:
                unexpected_ids.add(unit.id)
                receipt.unexpected.append((code, unit))
        elif code not in [text for text, _ in receipt.unexpected]:
            receipt.unexpected.append((code, None))
    damaged_ids = set()
    for code in fields.damaged:
        item, _unit = _match(code, actor, items)
        if item is None or item.id not in seen:
            raise Invalid(
                f"{code[:40]} is marked damaged but was not scanned in from the manifest",
                code="damaged_not_scanned",
                fields={"damaged": "scan it in first"},
            )
        damaged_ids.add(item.id)
    for item in items:
        if item.id not in seen:
            receipt.missing.append(item)
        elif item.id in damaged_ids:
            receipt.damaged.append(item)
        else:
            receipt.accepted.append(item)
    condition = words.condition(shipment.condition)
    if not condition.contains(fields.arrival_temperature_c):
        receipt.temperature_problem = (
            f"arrived at {fields.arrival_temperature_c:g} °C, outside {condition.label}"
        )
    for item in [*receipt.accepted, *receipt.damaged]:
        unit = item.unit
        if unit.status == Status.IN_TRANSIT.value:
            facts = UnitReceipt(
                temperature_c=fields.arrival_temperature_c,
                container_intact=item in receipt.accepted,
                volume_ml=float(unit.volume_ml),
            )
            problems = receipt_acceptance(unit, facts, now).deviations
            receipt.acceptance_problems.extend(
                f"{unit.eye_readable} {unit.product_code}: {p}" for p in problems
            )
    return receipt


def receive(shipment_id: object, data: Mapping[str, Any] | None, actor: User) -> Shipment:
    """Scan the shipment in at its destination: every scanned unit, and which are damaged.
    Manifest units not scanned are missing; scanned units not on it are unexpected."""
    fields: ReceiveIn = _validated(ReceiveIn, data)
    shipment = get(shipment_id, actor)
    _require_shipper(actor, "receive shipments")
    _require_member(actor, shipment.to_site, "receive its shipments")
    if shipment.status != ShipmentStatus.DISPATCHED.value:
        raise Conflict(
            f"shipment {shipment.code} is {shipment.status}: only a dispatched shipment is "
            "received",
            code="not_dispatched",
        )
    if not fields.scanned:
        raise Invalid(
            "scan every unit of the shipment in (none was scanned)",
            code="nothing_scanned",
            fields={"scanned": "scan the units"},
        )
    now = utcnow()
    receipt = assess(shipment, fields, actor, now)
    problems = [*receipt.discrepancies, *receipt.acceptance_problems]
    if problems and not fields.note:
        raise Invalid(
            "the shipment does not arrive as sent: " + "; ".join(problems) + ". Say in a note "
            "what you found and did; QA is told",
            code="note_required",
            fields={"note": "required: " + "; ".join(problems)[:300]},
        )
    with transaction():
        lock(LOCK)
        current = _fresh(shipment.id)
        if current.status != ShipmentStatus.DISPATCHED.value:
            raise Conflict(f"shipment {current.code} was received already", code="received_already")
        _record_receipt(current, receipt, fields, actor, now)
    return get(shipment.id, actor)


def _record_receipt(
    shipment: Shipment, receipt: Receipt, fields: ReceiveIn, actor: User, now: datetime
) -> None:
    cite = {"shipment": _ref(shipment)}
    note = fields.note or None
    for item in [*receipt.accepted, *receipt.damaged]:
        unit = db.session.get(Unit, item.unit_id)
        damaged = item in receipt.damaged
        outcome = Outcome.DAMAGED if damaged else Outcome.ACCEPTED
        recorded = {
            **cite,
            "shipment_outcome": outcome.value,
            "site": {"from": shipment.from_site.code, "to": shipment.to_site.code},
        }
        unit.site_id = shipment.to_site_id  # it is the receiving site's now (decision 103)
        was_in_transit = unit.status == Status.IN_TRANSIT.value
        if was_in_transit:
            action = units.check_allowed(unit, "receive", actor)
            units.act(
                unit,
                action,
                {
                    "temperature_c": fields.arrival_temperature_c,
                    "container_intact": not damaged,
                    "volume_ml": float(unit.volume_ml),
                    "deviation_note": note,
                },
                actor,
                now,
                recorded=recorded,
            )
        else:
            before = ledger.position(unit)
            unit.custodian_id = actor.id
            unit.updated_at = now
            ledger.append(
                unit=unit,
                action="arrive",
                actor=actor,
                movement=ledger.movement_of(unit, before=before),
                data={**recorded, "temperature_c": fields.arrival_temperature_c},
                at=now,
            )
        item.outcome = outcome.value
        if was_in_transit:
            # receipt opened its own deviation when outside acceptance: it names the shipment
            item.deviation_id = _receipt_deviation(unit, shipment, now)
        elif damaged or receipt.temperature_problem:
            item.deviation_id = _deviation(
                unit, shipment, f"arrived {outcome.value}", receipt, actor, now
            )
    for item in receipt.missing:
        unit = db.session.get(Unit, item.unit_id)
        item.outcome = Outcome.MISSING.value
        item.deviation_id = _deviation(unit, shipment, "missing on arrival", receipt, actor, now)
        _append_on(unit, "shipment_missing", actor, now, cite)
    for text, unit in receipt.unexpected:
        extra = ShipmentItem(
            shipment_id=shipment.id,
            unit_id=unit.id if unit else None,
            scanned=None if unit else text[:200],
            on_manifest=False,
            outcome=Outcome.UNEXPECTED.value,
            added_by_id=actor.id,
            added_at=now,
        )
        if unit is not None:
            extra.deviation_id = _deviation(
                unit, shipment, "arrived unexpectedly (not on the manifest)", receipt, actor, now
            )
            _append_on(unit, "shipment_unexpected", actor, now, cite)
        db.session.add(extra)
    discrepancies = receipt.discrepancies
    shipment.status = ShipmentStatus.RECEIVED.value
    shipment.received_by_id = actor.id
    shipment.received_at = now
    shipment.arrival_temperature_c = fields.arrival_temperature_c
    shipment.receipt_note = note
    shipment.discrepancies = len(discrepancies)
    _append(
        "shipment_received",
        actor,
        now,
        {
            **cite,
            "arrival_temperature_c": fields.arrival_temperature_c,
            "accepted": [_unit_ref(i.unit) for i in receipt.accepted],
            "damaged": [_unit_ref(i.unit) for i in receipt.damaged],
            "missing": [_unit_ref(i.unit) for i in receipt.missing],
            "unexpected": [_unit_ref(u) if u else {"scanned": t} for t, u in receipt.unexpected],
            "discrepancies": discrepancies,
            "note": note,
        },
    )
    if discrepancies:
        outbox.emit(
            "shipment_discrepancy",
            None,
            subject=f"shipment {shipment.code}",
            message=f"Received by {actor.full_name}: " + "; ".join(discrepancies) + ".",
            path=f"/shipments/{shipment.id}",
        )


def _receipt_deviation(unit: Unit, shipment: Shipment, now: datetime) -> int | None:
    deviation = db.session.scalar(
        select(Deviation).where(
            Deviation.unit_id == unit.id,
            Deviation.kind == "receipt_outside_acceptance",
            Deviation.opened_at == now,
        )
    )
    if deviation is None:
        return None
    deviation.shipment_id = shipment.id
    deviation.description = f"Shipment {shipment.code}: {deviation.description}"
    db.session.flush()
    return deviation.id


def _deviation(
    unit: Unit, shipment: Shipment, what: str, receipt: Receipt, actor: User, now: datetime
) -> int:
    parts = [f"Shipment {shipment.code} from {shipment.from_site.name}: {what}"]
    if receipt.temperature_problem:
        parts.append(receipt.temperature_problem)
    deviation = Deviation(
        unit_id=unit.id,
        kind=DEVIATION_KIND,
        description="; ".join(parts),
        opened_by_id=actor.id,
        opened_at=now,
        shipment_id=shipment.id,
    )
    db.session.add(deviation)
    db.session.flush()
    return deviation.id
