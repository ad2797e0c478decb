"""The equipment register (product §3): items with a scannable label, where they stand, their
calibration, qualification and maintenance records, and whether they are in service.

Who does what (the services decide; pages and the API only pass values through):

- admin and QA register an item and edit its details (``register_equipment``,
  ``update_equipment``);
- technicians and QA record a calibration, qualification or maintenance (``record``) and take
  an item out of service or back (``set_status``);
- technicians, QA and admin read the register; clinicians do not.

Each change is one ledger entry (no unit): ``equipment_registered``, ``equipment_updated``,
``equipment_calibrated`` (a calibration or a qualification), ``equipment_maintained`` and
``equipment_status``, naming the item's code and what changed. Records are only ever added
(the table is append-only); the item's row carries what the latest ones say:
``calibration_valid_until`` from the latest calibration or qualification (by the day it was
performed, then by id) and ``maintenance_due_on`` from the latest maintenance plus the
maintenance interval. An item that had no maintenance yet is due one interval after it was
registered.

Dates are the site's calendar days (``TIMEZONE``): "today" is the local date of ``at``
(default: now, or the demo replay's moment).

A form sent twice adds nothing twice: a record identical to one already on the item is
refused (409 ``duplicate_record``), a status it already has (409 ``no_change``), an edit
that changes nothing (409 ``no_change``), and a registration of an item already registered
(same kind, model and serial number; or, without a serial number, the same name, kind and
location by the same person within two minutes) is 409 ``duplicate_equipment`` naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ...db import lock, transaction
from ...domain import codes
from ...domain.errors import Conflict, Forbidden, Invalid, from_validation_error
from ...domain.identifiers import CodeError
from ...domain.materials import (
    EQUIPMENT_KINDS,
    EQUIPMENT_STATUSES,
    IN_SERVICE,
    OUT_OF_SERVICE,
    RECORD_KINDS,
    due_warning,
    equipment_problem,
    next_due,
)
from ...domain.roles import Role
from ...extensions import db
from ...labels import MIMETYPES, STOCKS, Code128, Label, LabelDoesNotFit, render
from ...models import Equipment, EquipmentRecord, LedgerEntry, Location, MaterialUse, Unit, User
from ...models.types import utcnow
from ...timefmt import site_zone
from .. import access
from ..custody import ledger
from .registry import get_equipment, new_equipment_code

EDITORS = frozenset({Role.ADMIN, Role.QA})  # register and edit items
RECORDERS = frozenset({Role.TECHNICIAN, Role.QA})  # records and status
READERS = frozenset({Role.TECHNICIAN, Role.QA, Role.ADMIN})  # pages, API, labels

REGISTERED = "equipment_registered"
UPDATED = "equipment_updated"
CALIBRATED = "equipment_calibrated"  # a calibration or a qualification
MAINTAINED = "equipment_maintained"
STATUS = "equipment_status"
ACTIONS = (REGISTERED, UPDATED, CALIBRATED, MAINTAINED, STATUS)
LABEL_ACTIONS = ("print_label", "reprint_label")
LABEL_TEMPLATE = "equipment"

MAX_INTERVAL_DAYS = 3650  # ten years: a longer interval is a typo
OLDEST_RECORD_DAYS = 20 * 366  # a record performed longer ago than twenty years is a typo
DUPLICATE_WINDOW = timedelta(minutes=2)  # a registration sent twice (no serial number)
CALIBRATION_KINDS = ("calibration", "qualification")
NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, newline, return aside


def _plain(value: str) -> str:
    """What a form sends reaches the ledger and the database: plain text only (the API's
    body reader refuses control characters before this)."""
    if _CONTROL.search(value):
        raise ValueError("may not contain a control character")
    return value


Plain = AfterValidator(_plain)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Plain]
Optional120 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), Plain]
Optional80 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80), Plain]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), Plain]
CodeText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), Plain]
Interval = Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS, strict=True)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EquipmentFields(_Fields):
    """An item as registered or edited (an edit sends every field; one left out is cleared)."""

    name: Name = Field(description="what the lab calls it, e.g. 'Centrifuge 2 (clean room)'")
    kind: Literal[tuple(EQUIPMENT_KINDS)] = Field(  # type: ignore[valid-type]
        description="one of the register's kinds"
    )
    model: Optional120 | None = Field(None, description="manufacturer and model")
    serial_number: Optional80 | None = None
    location: CodeText | None = Field(
        None, description="the code of the location where it stands (as printed on its label)"
    )
    calibration_interval_days: Interval | None = Field(
        None,
        description="how often it is calibrated or qualified: a record without valid_until "
        "is valid this many days (1 to 3650)",
    )
    maintenance_interval_days: Interval | None = Field(
        None, description="maintenance every this many days (1 to 3650)"
    )


class RecordFields(_Fields):
    """A calibration, qualification or maintenance as it was done."""

    kind: Literal[RECORD_KINDS] = Field(  # type: ignore[valid-type]
        description="calibration, qualification or maintenance"
    )
    performed_on: date = Field(description="the day it was done (not in the future)")
    performed_by: Name = Field(description="who did it: a person or a service company")
    certificate_ref: Optional120 | None = Field(
        None, description="the certificate or report reference (calibration, qualification)"
    )
    valid_until: date | None = Field(
        None,
        description="calibration or qualification: the last day it is valid (after "
        "performed_on; default: performed_on plus the item's calibration interval). "
        "Not for maintenance",
    )
    notes: Notes | None = None


class StatusFields(_Fields):
    status: Literal[EQUIPMENT_STATUSES] = Field(  # type: ignore[valid-type]
        description="in_service or out_of_service"
    )
    reason: Notes | None = Field(None, description="why (required to take it out of service)")


# ---------------------------------------------------------------------------- helpers


def local_today(at: datetime | None = None) -> date:
    """The site's calendar day at ``at`` (default: now)."""
    return (at or utcnow()).astimezone(site_zone()).date()


def _require(actor: User, roles: frozenset[Role], what: str) -> None:
    if actor.role not in {r.value for r in roles}:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(
            f"{what}: only {allowed} may; you are {actor.role}", code="role_not_allowed"
        )


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    if not isinstance(data, Mapping):
        raise Invalid("send the fields as an object", code="invalid_body")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _bad(field: str, message: str) -> Invalid:
    return Invalid(
        f"invalid data — {field}: {message}", code="invalid_fields", fields={field: message}
    )


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _location(code: str | None) -> Location | None:
    """The location a code names (a bad or unknown code is a 422 on ``location``)."""
    if not code:
        return None
    try:
        scanned = codes.classify(code)
    except CodeError as exc:
        raise Invalid(exc.message, code=exc.code, fields={"location": exc.message}) from None
    if not isinstance(scanned, codes.LocationCode):
        message = f"this is a {codes.describe(scanned)} code, not a location code"
        raise Invalid(message, code="wrong_kind", fields={"location": message})
    place = db.session.scalar(select(Location).where(Location.code == scanned.code))
    if place is None:
        raise _bad("location", f"no location has code {scanned.code}")
    if place.kind == "position":
        raise _bad("location", "a position in a box holds a unit; name the room or bench")
    return place


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _described(item: Equipment) -> dict[str, Any]:
    """What the register says of an item's details, as the ledger records them."""
    return {
        "name": item.name,
        "kind": item.kind,
        "model": item.model,
        "serial_number": item.serial_number,
        "location": item.location.code if item.location else None,
        "calibration_interval_days": item.calibration_interval_days,
        "maintenance_interval_days": item.maintenance_interval_days,
    }


def _append(item: Equipment, action: str, actor: User, at: datetime, data: dict, reason=None):
    ledger.append(
        unit=None,
        action=action,
        actor=actor,
        movement=NO_MOVEMENT,
        data={"equipment_id": item.id, "equipment": item.code, **data},
        reason=reason,
        at=at,
    )


# ---------------------------------------------------------------------------- register, edit


def register_equipment(
    data: Mapping[str, Any], actor: User, *, at: datetime | None = None
) -> Equipment:
    """Register an item (admin, QA): a new ``E…`` code, in service; 201 over the API.

    ``data``: ``EquipmentFields`` (name, kind, model, serial_number, location code,
    calibration_interval_days, maintenance_interval_days). Its first maintenance is due one
    interval after ``at``'s day.
    """
    _require(actor, EDITORS, "registering equipment")
    fields: EquipmentFields = _validated(EquipmentFields, data)
    now = at or utcnow()
    with transaction():
        lock("lims.equipment")
        place = _location(fields.location)
        _refuse_duplicate(fields, place, actor, now)
        item = Equipment(
            code=new_equipment_code(),
            name=fields.name,
            kind=fields.kind,
            model=_blank_to_none(fields.model),
            serial_number=_blank_to_none(fields.serial_number),
            location=place,
            status=IN_SERVICE,
            calibration_interval_days=fields.calibration_interval_days,
            maintenance_interval_days=fields.maintenance_interval_days,
            maintenance_due_on=next_due(local_today(now), fields.maintenance_interval_days),
            created_by_id=actor.id,
            created_at=now,
        )
        db.session.add(item)
        db.session.flush()
        _append(
            item,
            REGISTERED,
            actor,
            now,
            {**_described(item), "maintenance_due_on": _iso(item.maintenance_due_on)},
        )
    return item


def _refuse_duplicate(
    fields: EquipmentFields, place: Location | None, actor: User, now: datetime
) -> None:
    serial = _blank_to_none(fields.serial_number)
    stmt = select(Equipment).where(Equipment.kind == fields.kind)
    if serial:
        model = _blank_to_none(fields.model)
        stmt = stmt.where(
            func.lower(Equipment.serial_number) == serial.lower(),
            func.lower(func.coalesce(Equipment.model, "")) == (model or "").lower(),
        )
    else:
        stmt = stmt.where(
            Equipment.name == fields.name,
            _same(Equipment.location_id, place.id if place else None),
            Equipment.created_by_id == actor.id,
            Equipment.created_at >= now - DUPLICATE_WINDOW,
        )
    twin = db.session.scalar(stmt.order_by(Equipment.id).limit(1))
    if twin is not None:
        raise Conflict(
            f"this item is already registered as {twin.code} ({twin.name}); nothing was added",
            code="duplicate_equipment",
        )


def update_equipment(
    equipment_id: int, data: Mapping[str, Any], actor: User, *, at: datetime | None = None
) -> Equipment:
    """Change an item's details (admin, QA): every field of ``EquipmentFields`` is sent.

    A new maintenance interval moves the next maintenance (from the latest maintenance, or
    from the day the item was registered). Nothing changed is 409 ``no_change``.
    """
    _require(actor, EDITORS, "editing equipment")
    now = at or utcnow()
    with transaction():
        item = get_equipment(equipment_id)
        fields: EquipmentFields = _validated(EquipmentFields, data)
        lock(f"lims.equipment:{item.id}")
        before = _described(item)
        place = _location(fields.location)
        serial = _blank_to_none(fields.serial_number)
        if serial and (serial, fields.kind, fields.model) != (
            item.serial_number,
            item.kind,
            item.model,
        ):
            twin = db.session.scalar(
                select(Equipment).where(
                    Equipment.id != item.id,
                    Equipment.kind == fields.kind,
                    func.lower(Equipment.serial_number) == serial.lower(),
                    func.lower(func.coalesce(Equipment.model, ""))
                    == (_blank_to_none(fields.model) or "").lower(),
                )
            )
            if twin is not None:
                raise _bad("serial_number", f"{twin.code} ({twin.name}) has this serial number")
        item.name = fields.name
        item.kind = fields.kind
        item.model = _blank_to_none(fields.model)
        item.serial_number = serial
        item.location = place
        item.calibration_interval_days = fields.calibration_interval_days
        item.maintenance_interval_days = fields.maintenance_interval_days
        after = _described(item)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if not changes:
            raise Conflict(f"{item.code}: nothing changed", code="no_change")
        due_before = item.maintenance_due_on
        if "maintenance_interval_days" in changes:
            item.maintenance_due_on = next_due(
                _maintenance_base(item), fields.maintenance_interval_days
            )
        if item.maintenance_due_on != due_before:
            changes["maintenance_due_on"] = [_iso(due_before), _iso(item.maintenance_due_on)]
        _append(item, UPDATED, actor, now, {"changes": changes})
    return item


def _maintenance_base(item: Equipment) -> date:
    latest = _latest(item, ("maintenance",))
    return latest.performed_on if latest else local_today(item.created_at)


# ---------------------------------------------------------------------------- records


def _latest(item: Equipment, kinds: tuple[str, ...]) -> EquipmentRecord | None:
    return db.session.scalar(
        select(EquipmentRecord)
        .where(EquipmentRecord.equipment_id == item.id, EquipmentRecord.kind.in_(kinds))
        .order_by(EquipmentRecord.performed_on.desc(), EquipmentRecord.id.desc())
        .limit(1)
    )


def _check_record(fields: RecordFields, item: Equipment, today: date) -> tuple[date | None, str]:
    """The valid-until date the record will carry, and its certificate reference; or 422."""
    if fields.performed_on > today:
        raise _bad("performed_on", f"in the future (today is {today.isoformat()})")
    if (today - fields.performed_on).days > OLDEST_RECORD_DAYS:
        raise _bad("performed_on", "more than twenty years ago; check the date")
    certificate = _blank_to_none(fields.certificate_ref)
    if fields.kind == "maintenance":
        if fields.valid_until is not None:
            raise _bad(
                "valid_until",
                "maintenance has no valid-until date: the maintenance interval sets when it "
                "is due again",
            )
        return None, certificate
    if not certificate:
        raise _bad("certificate_ref", f"a {fields.kind} names its certificate or report")
    valid_until = fields.valid_until or next_due(
        fields.performed_on, item.calibration_interval_days
    )
    if valid_until is None:
        raise _bad(
            "valid_until",
            "give the last day it is valid (the item has no calibration interval to count from)",
        )
    if valid_until <= fields.performed_on:
        raise _bad("valid_until", "must be after the day it was performed")
    if (valid_until - fields.performed_on).days > MAX_INTERVAL_DAYS:
        raise _bad("valid_until", "more than ten years after it was performed; check the date")
    return valid_until, certificate


def record(
    equipment_id: int, data: Mapping[str, Any], actor: User, *, at: datetime | None = None
) -> EquipmentRecord:
    """Record a calibration, qualification or maintenance (technician, QA).

    ``data``: ``RecordFields`` (kind, performed_on, performed_by, certificate_ref,
    valid_until, notes). A calibration or qualification sets the item's
    ``calibration_valid_until`` from the latest such record; a maintenance its
    ``maintenance_due_on``. The same record twice is 409 ``duplicate_record``.
    """
    _require(actor, RECORDERS, "recording calibration or maintenance")
    now = at or utcnow()
    with transaction():
        item = get_equipment(equipment_id)
        fields: RecordFields = _validated(RecordFields, data)
        valid_until, certificate = _check_record(fields, item, local_today(now))
        notes = _blank_to_none(fields.notes)
        lock(f"lims.equipment:{item.id}")
        twin = db.session.scalar(
            select(EquipmentRecord).where(
                EquipmentRecord.equipment_id == item.id,
                EquipmentRecord.kind == fields.kind,
                EquipmentRecord.performed_on == fields.performed_on,
                EquipmentRecord.performed_by == fields.performed_by,
                _same(EquipmentRecord.certificate_ref, certificate),
                _same(EquipmentRecord.valid_until, valid_until),
                _same(EquipmentRecord.notes, notes),
            )
        )
        if twin is not None:
            raise Conflict(
                f"this {fields.kind} of {item.code} on {fields.performed_on.isoformat()} is "
                f"already recorded (by {twin.recorded_by.full_name}); nothing was added",
                code="duplicate_record",
            )
        entry = EquipmentRecord(
            equipment_id=item.id,
            kind=fields.kind,
            performed_on=fields.performed_on,
            performed_by=fields.performed_by,
            certificate_ref=certificate,
            valid_until=valid_until,
            notes=notes,
            recorded_by_id=actor.id,
            recorded_at=now,
        )
        db.session.add(entry)
        db.session.flush()
        data_out: dict[str, Any] = {
            "record_id": entry.id,
            "kind": entry.kind,
            "performed_on": entry.performed_on.isoformat(),
            "performed_by": entry.performed_by,
            "certificate_ref": entry.certificate_ref,
        }
        if notes:
            data_out["notes"] = notes
        if fields.kind == "maintenance":
            before = item.maintenance_due_on
            latest = _latest(item, ("maintenance",))
            item.maintenance_due_on = next_due(latest.performed_on, item.maintenance_interval_days)
            data_out["maintenance_due_on"] = [_iso(before), _iso(item.maintenance_due_on)]
            action = MAINTAINED
        else:
            before = item.calibration_valid_until
            item.calibration_valid_until = _latest(item, CALIBRATION_KINDS).valid_until
            data_out["valid_until"] = valid_until.isoformat() if valid_until else None
            data_out["calibration_valid_until"] = [_iso(before), _iso(item.calibration_valid_until)]
            action = CALIBRATED
        _append(item, action, actor, now, data_out)
    return entry


def _same(column, value):
    return column.is_(None) if value is None else column == value


# ---------------------------------------------------------------------------- status


def set_status(
    equipment_id: int, data: Mapping[str, Any], actor: User, *, at: datetime | None = None
) -> Equipment:
    """Take an item out of service (a reason is required) or back into it (technician, QA).

    ``data``: ``StatusFields`` (status, reason). Back into service with a calibration that
    has lapsed is 409 ``calibration_lapsed``: record the calibration first. The status it
    already has (and, out of service, the same reason) is 409 ``no_change``.
    """
    _require(actor, RECORDERS, "changing an item's status")
    now = at or utcnow()
    with transaction():
        item = get_equipment(equipment_id)
        fields: StatusFields = _validated(StatusFields, data)
        reason = _blank_to_none(fields.reason)
        if fields.status == OUT_OF_SERVICE and not reason:
            raise _bad("reason", "say why it is taken out of service")
        lock(f"lims.equipment:{item.id}")
        db.session.refresh(item)
        if item.status == fields.status and (
            fields.status == IN_SERVICE or item.status_reason == reason
        ):
            words = "in service" if fields.status == IN_SERVICE else "out of service"
            raise Conflict(f"{item.code} is already {words}; nothing changed", code="no_change")
        today = local_today(now)
        if fields.status == IN_SERVICE:
            lapsed = item.calibration_valid_until
            if lapsed is not None and today > lapsed:
                raise Conflict(
                    f"{item.code} {item.name} is past its calibration (valid until "
                    f"{lapsed.isoformat()}); record a new calibration or qualification before "
                    "returning it to service",
                    code="calibration_lapsed",
                )
        before = (item.status, item.status_reason)
        item.status = fields.status
        item.status_reason = reason if fields.status == OUT_OF_SERVICE else None
        _append(
            item,
            STATUS,
            actor,
            now,
            {"status": [before[0], item.status], "previous_reason": before[1]},
            reason=reason,
        )
    return item


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Due:
    """Where an item stands today: may it be used, and which warnings apply."""

    problem: str | None  # why it may not be used today (out of service, calibration lapsed)
    calibration: str | None  # "7d", "1d", "overdue" or None
    maintenance: str | None

    @property
    def usable(self) -> bool:
        return self.problem is None


def due_state(item: Equipment, today: date | None = None) -> Due:
    today = today or local_today()
    return Due(
        equipment_problem(item.state(), today),
        due_warning(item.calibration_valid_until, today),
        due_warning(item.maintenance_due_on, today),
    )


def list_equipment(*, kind: str | None = None, status: str | None = None) -> list[Equipment]:
    """The register, by code; optionally one kind and/or one status."""
    stmt = select(Equipment).options(joinedload(Equipment.location)).order_by(Equipment.code)
    if kind:
        stmt = stmt.where(Equipment.kind == kind)
    if status:
        stmt = stmt.where(Equipment.status == status)
    return list(db.session.scalars(stmt))


def records_of(item: Equipment) -> list[EquipmentRecord]:
    """Every calibration, qualification and maintenance of the item, latest first."""
    return list(
        db.session.scalars(
            select(EquipmentRecord)
            .options(joinedload(EquipmentRecord.recorded_by))
            .where(EquipmentRecord.equipment_id == item.id)
            .order_by(EquipmentRecord.performed_on.desc(), EquipmentRecord.id.desc())
        )
    )


def history_of(item: Equipment, limit: int = 200) -> list[LedgerEntry]:
    """The item's ledger entries (register changes and label prints), newest first."""
    key = f'"equipment_id":{item.id}'
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.action.in_((*ACTIONS, *LABEL_ACTIONS)),
                LedgerEntry.unit_id.is_(None),
                or_(
                    LedgerEntry.data.contains(key + ",", autoescape=True),
                    LedgerEntry.data.contains(key + "}", autoescape=True),
                ),
            )
            .order_by(LedgerEntry.seq.desc())
            .limit(limit)
        )
    )


def entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return json.loads(entry.data or "{}")


@dataclass(frozen=True)
class UsePage:
    """One page of the units an item touched, newest use first."""

    rows: list[tuple[MaterialUse, Unit]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _uses(item: Equipment, viewer: User):
    return (
        select(MaterialUse, Unit)
        .join(Unit, Unit.id == MaterialUse.unit_id)
        .where(MaterialUse.equipment_id == item.id, access.visible_units(viewer))
    )


def units_touched(
    item: Equipment, viewer: User, *, page: int = 1, per_page: int = 50, clamp: bool = True
) -> UsePage:
    """Every unit the item touched (what a recall needs), with the calibration valid-until
    recorded at the moment of use; newest first. ``clamp``: a page past the end shows the
    last (the browser); without it, an empty page (the API's exact pages)."""
    total = db.session.scalar(
        select(func.count())
        .select_from(MaterialUse)
        .join(Unit, Unit.id == MaterialUse.unit_id)
        .where(MaterialUse.equipment_id == item.id, access.visible_units(viewer))
    )
    page = max(page, 1)
    if clamp:
        page = min(page, max(1, -(-total // per_page)))
    rows = db.session.execute(
        _uses(item, viewer)
        .order_by(MaterialUse.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return UsePage([(use, unit) for use, unit in rows], page, per_page, total or 0)


def all_units_touched(item: Equipment, viewer: User) -> Iterator[tuple[MaterialUse, Unit]]:
    """Every use, newest first, read in batches (the CSV)."""
    result = db.session.execute(
        _uses(item, viewer).order_by(MaterialUse.id.desc()).execution_options(yield_per=500)
    )
    yield from ((row[0], row[1]) for row in result)


# ---------------------------------------------------------------------------- label


class PrintOptions(Protocol):
    """How to print (``services.station.labels.LabelOptions`` is one, validated)."""

    format: str
    stock: str | None
    copies: int
    dpi: int
    reason: str | None


@dataclass(frozen=True)
class PrintedLabel:
    content: bytes
    mimetype: str
    filename: str
    action: str | None  # the ledger action, None for a preview


def equipment_label(item: Equipment) -> Label:
    kind = EQUIPMENT_KINDS.get(item.kind, item.kind)
    details = " · ".join(
        p for p in (kind, item.model, item.serial_number and f"S/N {item.serial_number}") if p
    )
    lines = (item.name, details, item.location.path if item.location else "", item.code)
    return Label(LABEL_TEMPLATE, tuple(line for line in lines if line), (Code128(item.code),))


def print_label(equipment_id: int, options: PrintOptions, actor: User) -> PrintedLabel:
    """The item's label (technician, QA, admin): an SVG preview is not recorded; a PDF or
    ZPL is a ``print_label`` ledger entry, and any later one a ``reprint_label`` that needs
    a reason (as for location labels)."""
    _require(actor, READERS, "printing an equipment label")
    item = get_equipment(equipment_id)
    stock = options.stock or "tube"
    try:
        content = render(
            equipment_label(item),
            STOCKS[stock],
            options.format,
            copies=options.copies,
            dpi=options.dpi,
        )
    except LabelDoesNotFit as exc:
        raise Invalid(str(exc), code="label_does_not_fit", fields={"stock": str(exc)}) from None
    filename = f"{item.code}-{LABEL_TEMPLATE}-{stock}.{options.format}"
    action = None
    if options.format != "svg":
        action = _record_print(item, options, stock, actor)
    return PrintedLabel(content, MIMETYPES[options.format], filename, action)


def _record_print(item: Equipment, options: PrintOptions, stock: str, actor: User) -> str:
    with transaction():
        lock("lims.labels")
        printed_before = any(
            entry_data(e).get("template") == LABEL_TEMPLATE
            for e in history_of(item, limit=10_000)
            if e.action in LABEL_ACTIONS
        )
        if printed_before and not options.reason:
            raise Invalid(
                "this label was printed before; a reprint needs a reason",
                code="reason_required",
                fields={"reason": "required for a reprint"},
            )
        action = LABEL_ACTIONS[1] if printed_before else LABEL_ACTIONS[0]
        data: dict[str, Any] = {
            "template": LABEL_TEMPLATE,
            "stock": stock,
            "format": options.format,
            "copies": options.copies,
        }
        if options.format == "zpl":
            data["dpi"] = options.dpi
        _append(item, action, actor, utcnow(), data, reason=options.reason)
    return action
