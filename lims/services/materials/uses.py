"""What a step or a QC result may use, and the record that it did (product §3).

A processing step, the start of processing and a QC result name equipment and reagent lots by
their register codes. Before anything is written the checks here refuse:

- equipment out of service or past its calibration (409 naming the item and the date), unless
  QA opened a deviation on this unit that permits that item, and the step cites it;
- a lot that is not QA-accepted, expired, of another reagent, or without the stock asked for.

Each use becomes a ``MaterialUse`` row beside the ledger entry that records it (the item's
calibration at that moment kept with it), and a lot's stock goes down by the quantity used; a
lot that runs out is flagged once, and the lab and QA are told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from ...db import transaction
from ...domain.errors import Conflict, Forbidden, Invalid
from ...domain.materials import EQUIPMENT_KINDS, IN_SERVICE, equipment_problem, lot_problem
from ...domain.roles import Role
from ...domain.status import Status
from ...extensions import db
from ...models import Deviation, Equipment, LedgerEntry, MaterialUse, ReagentLot, Unit, User
from ...models.types import utcnow
from ...notify import outbox
from ...timefmt import site_zone
from .. import access
from ..custody import ledger
from .registry import equipment_by_code, lot_by_code

PERMIT_KIND = "equipment_use_permitted"


def site_day(moment: datetime) -> date:
    """The site's calendar day at ``moment``: the day the registers and warnings count."""
    return moment.astimezone(site_zone()).date()


@dataclass
class Checked:
    """An item or a lot a step may use, with the deviation that permits it (if one had to)."""

    equipment: Equipment | None = None
    lot: ReagentLot | None = None
    quantity: float | None = None
    deviation: Deviation | None = None

    def recorded(self) -> dict:
        """What the ledger entry says of it: codes, the calibration then, the lot, the permit."""
        out: dict = {}
        if self.equipment is not None:
            item = self.equipment
            out["equipment"] = item.code
            out["equipment_name"] = item.name
            out["calibration_valid_until"] = (
                item.calibration_valid_until.isoformat() if item.calibration_valid_until else None
            )
        if self.lot is not None:
            lot = self.lot
            out["lot"] = lot.code
            out["reagent"] = lot.reagent
            out["lot_number"] = lot.lot_number
            out["lot_expires_on"] = lot.expires_on.isoformat()
            if self.quantity is not None:
                out["quantity_used"] = self.quantity
                out["quantity_unit"] = lot.quantity_unit
        if self.deviation is not None:
            out["permitted_by_deviation"] = self.deviation.id
        return out


def permit_for(unit: Unit, item: Equipment, deviation_id: int | None) -> Deviation | None:
    """The open deviation on ``unit`` that permits ``item``, if the step cites one."""
    if deviation_id is None:
        return None
    deviation = db.session.get(Deviation, deviation_id)
    if (
        deviation is None
        or deviation.unit_id != unit.id
        or deviation.kind != PERMIT_KIND
        or deviation.equipment_id != item.id
        or not deviation.is_open
    ):
        message = f"deviation {deviation_id} does not permit {item.code} on this unit"
        raise Invalid(message, code="invalid_fields", fields={"deviation": message})
    return deviation


def check_equipment(
    unit: Unit,
    code: object,
    used_at: datetime,
    *,
    kind: str | None = None,
    deviation_id: int | None = None,
    field: str = "equipment",
) -> Checked:
    """The item ``code`` names, if it is of ``kind`` and may be used on ``unit`` at
    ``used_at``; else refused."""
    item = equipment_by_code(code, field)
    if kind is not None and item.kind != kind:
        names = EQUIPMENT_KINDS
        message = (
            f"{item.code} {item.name} is a {names.get(item.kind, item.kind).lower()}; "
            f"this needs a {names.get(kind, kind).lower()}"
        )
        raise Invalid(message, code="invalid_fields", fields={field: message})
    problem = equipment_problem(item.state(), site_day(used_at))
    if problem is None:
        return Checked(equipment=item)
    deviation = permit_for(unit, item, deviation_id)
    if deviation is None:
        raise Conflict(
            f"{problem}; it may not be used unless QA opens a deviation permitting it on this "
            "unit, which the step then cites",
            code="equipment_not_usable",
        )
    return Checked(equipment=item, deviation=deviation)


def check_lot(
    code: object,
    used_at: datetime,
    *,
    reagent: str | None,
    quantity: float | None = None,
    field: str = "lot",
) -> Checked:
    """The lot ``code`` names, if it is usable for ``reagent`` at ``used_at``; else refused."""
    lot = lot_by_code(code, field)
    problem = lot_problem(lot.state(), site_day(used_at), reagent=reagent, quantity=quantity)
    if problem is not None:
        raise Conflict(problem, code="lot_not_usable")
    return Checked(lot=lot, quantity=quantity)


def use(
    unit: Unit, checked: Checked, *, action: str, step: str | None, at: datetime
) -> MaterialUse:
    """The row that records a use (its ledger entry is set once written); takes stock."""
    row = MaterialUse(
        unit_id=unit.id,
        action=action,
        step=step,
        equipment_id=checked.equipment.id if checked.equipment else None,
        reagent_lot_id=checked.lot.id if checked.lot else None,
        quantity=checked.quantity,
        calibration_valid_until=(
            checked.equipment.calibration_valid_until if checked.equipment else None
        ),
        deviation_id=checked.deviation.id if checked.deviation else None,
        used_at=at,
    )
    lot = checked.lot
    if lot is not None and checked.quantity:
        lot.quantity_remaining = round(lot.quantity_remaining - checked.quantity, 6)
        if lot.quantity_remaining <= 0 and lot.flagged is None:
            lot.flagged = "used_up"
            outbox.emit(
                "reagent_lot_flagged",
                dedupe_key=f"lot_flagged:{lot.id}:used_up",
                subject=f"{lot.reagent} lot {lot.lot_number} ({lot.code})",
                message=f"Lot {lot.lot_number} of {lot.product_name} is used up.",
                path=f"/reagent-lots/{lot.id}",
            )
    return row


def attach(rows: list[MaterialUse], entry: LedgerEntry) -> None:
    """Write the uses, each citing the ledger entry that recorded them."""
    for row in rows:
        row.ledger_entry_id = entry.id
        db.session.add(row)


# ---------------------------------------------------------------------------- permits


def permit_equipment(
    unit: Unit, code: object, reason: str, actor: User, now: datetime
) -> Deviation:
    """QA opens a deviation on ``unit`` permitting one item the register would refuse.

    Inside the caller's transaction; the deviation stays open (and so blocks release) until QA
    closes it with a signed decision on the product's impact.
    """
    if actor.role != Role.QA:
        raise Forbidden("only QA may permit the use of equipment", code="role_not_allowed")
    if Status(unit.status).is_final:
        raise Conflict(
            f"the unit is {Status(unit.status).label}: nothing more is done with it",
            code="wrong_status",
        )
    item = equipment_by_code(code)
    reason = " ".join(str(reason or "").split())
    if not 1 <= len(reason) <= 2000:
        raise Invalid(
            "say why the use is permitted (1 to 2000 characters)",
            code="invalid_fields",
            fields={"reason": "1 to 2000 characters"},
        )
    problem = equipment_problem(item.state(), site_day(now))
    if problem is None:
        raise Conflict(
            f"{item.code} {item.name} is in service and calibrated: no permit is needed",
            code="permit_not_needed",
        )
    deviation = Deviation(
        unit_id=unit.id,
        kind=PERMIT_KIND,
        description=f"Use of {item.code} {item.name} permitted: {problem}. {reason}",
        opened_by_id=actor.id,
        opened_at=now,
        equipment_id=item.id,
    )
    db.session.add(deviation)
    db.session.flush()
    unit.deviation = True
    ledger.append(
        unit=unit,
        action="permit_equipment",
        actor=actor,
        movement=ledger.standing(unit),
        data={"deviation_id": deviation.id, "equipment": item.code, "problem": problem},
        reason=reason,
        at=now,
    )
    return deviation


def open_permit(unit_id: int, code: object, reason: object, actor: User) -> Deviation:
    """``permit_equipment`` in a transaction of its own, for a unit the actor may see."""
    with transaction():
        unit = access.require_unit(actor, unit_id)
        return permit_equipment(unit, code, str(reason or ""), actor, utcnow())


# ---------------------------------------------------------------------------- reading


def uses_of_unit(unit_ids: list[int]) -> list[MaterialUse]:
    """Every item and lot that touched these units, oldest first (unit page, custody report)."""
    if not unit_ids:
        return []
    return list(
        db.session.scalars(
            select(MaterialUse).where(MaterialUse.unit_id.in_(unit_ids)).order_by(MaterialUse.id)
        )
    )


def usable_equipment(on: date) -> list[Equipment]:
    """Items in service whose calibration (if any) holds on ``on``: the forms' pick lists."""
    return list(
        db.session.scalars(
            select(Equipment)
            .where(
                Equipment.status == IN_SERVICE,
                or_(
                    Equipment.calibration_valid_until.is_(None),
                    Equipment.calibration_valid_until >= on,
                ),
            )
            .order_by(Equipment.kind, Equipment.name)
        )
    )


def usable_lots(on: date) -> list[ReagentLot]:
    """Accepted lots, not expired on ``on``, with stock left: the forms' pick lists."""
    return list(
        db.session.scalars(
            select(ReagentLot)
            .where(
                ReagentLot.accepted_at.is_not(None),
                ReagentLot.expires_on >= on,
                ReagentLot.quantity_remaining > 0,
            )
            .order_by(ReagentLot.reagent, ReagentLot.expires_on)
        )
    )


@dataclass(frozen=True)
class UseView:
    """One use as the unit page and the custody report show it."""

    unit_id: int
    used_at: datetime
    action: str
    step: str | None
    kind: str  # "equipment" or "lot"
    code: str
    name: str
    then: str  # the item's calibration, or the lot's number, expiry and quantity, at the time
    permitted_by: int | None
    link: str


def views_of(unit_ids: list[int]) -> list[UseView]:
    """What touched these units, in the words of the unit page and the custody report."""
    views = []
    for row in uses_of_unit(unit_ids):
        if row.equipment is not None:
            item = row.equipment
            valid = row.calibration_valid_until
            then = f"calibrated until {valid.isoformat()}" if valid else "no calibration on record"
            views.append(
                UseView(
                    row.unit_id,
                    row.used_at,
                    row.action,
                    row.step,
                    "equipment",
                    item.code,
                    f"{item.name} ({EQUIPMENT_KINDS.get(item.kind, item.kind).lower()})",
                    then,
                    row.deviation_id,
                    f"/equipment/{item.id}",
                )
            )
        if row.reagent_lot is not None:
            lot = row.reagent_lot
            used = f", {row.quantity:g} {lot.quantity_unit} used" if row.quantity else ""
            views.append(
                UseView(
                    row.unit_id,
                    row.used_at,
                    row.action,
                    row.step,
                    "lot",
                    lot.code,
                    f"{lot.reagent}: {lot.product_name} ({lot.manufacturer})",
                    f"lot {lot.lot_number}, expires {lot.expires_on.isoformat()}{used}",
                    None,
                    f"/reagent-lots/{lot.id}",
                )
            )
    return views


def refused_equipment(on: date) -> list[tuple[Equipment, str]]:
    """Items the register would refuse on ``on``, with why: what a permit is for."""
    items = db.session.scalars(select(Equipment).order_by(Equipment.kind, Equipment.name))
    return [(i, p) for i in items if (p := equipment_problem(i.state(), on))]
