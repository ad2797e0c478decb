"""The seeded lab's equipment register and reagent lots.

Processing names its equipment and lots by register code (decision 73), so the seeded history
needs a register:

- **Equipment**: one item of each kind a protocol step or the start of processing asks for,
  registered and calibrated through the services just before the seeded history starts
  (``stock_equipment``), valid until a year after it ends.
- **Reagent lots**: every ``LOT_PERIOD`` days a new lot of each reagent is received by a
  technician and accepted by QA a few hours later (``plan_lots``); each keeps ``SHELF_LIFE``.
  The chain writer writes their receipt and acceptance entries at those moments, in time
  order with the units' entries, and the lot rows with their acceptances. The simulator
  takes each step's lot first-expiry-first-out from the lots usable at the step's start and
  takes its quantity off the lot's stock, as ``services.materials.uses`` would; what is left
  (and the flag of a lot used up or expired) is written at the end.

Benchmarks that act now (``bench.run``, ``bench.ledger_search``, the load test) ask
``usable_now`` for the codes of an item of each kind and a usable lot of each reagent; a lot
that ran out or expired since the seed is replaced through the services.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from lims.domain import codes
from lims.domain.ledger_chain import canonical_json
from lims.domain.materials import equipment_problem, lot_problem, reagent_names
from lims.domain.processing import PROTOCOLS, protocol_for
from lims.extensions import db
from lims.models import Equipment, ReagentLot, User
from lims.models.types import clock_at, utcnow
from lims.services.custody import signatures
from lims.services.materials import equipment as equipment_service
from lims.services.materials import reagents
from lims.services.materials.uses import Checked

LOT_PERIOD = timedelta(days=30)  # a new lot of each reagent this often
SHELF_LIFE = timedelta(days=90)  # from receipt to the last day of use
ACCEPTED_AFTER = timedelta(hours=20)  # QA reviews the certificate the next day
FIRST_LOT_BEFORE = timedelta(days=20)  # the first lots arrive before the history starts
STOCK_MARGIN = 2.5  # a lot holds this many times the uses expected in its period
REGISTERED_BEFORE = timedelta(days=2)  # equipment registered before the history starts
CALIBRATED_FOR = timedelta(days=365)  # beyond the history's end

# reagent → (product, manufacturer, unit, quantity one step takes)
PRODUCTS: dict[str, tuple[str, str, str, float]] = {
    "collagenase": ("Collagenase NB 6 GMP Grade", "Nordmark", "mg", 250.0),
    "cryoprotectant": ("CryoStor CS10", "BioLife Solutions", "mL", 10.0),
    "culture medium": ("MSC NutriStem XF", "Sartorius", "mL", 100.0),
    "diluent": ("DPBS without Ca/Mg", "Gibco", "mL", 60.0),
    "dissociation reagent": ("TrypLE Select", "Gibco", "mL", 20.0),
    "gradient medium": ("Ficoll-Paque PREMIUM", "Cytiva", "mL", 15.0),
    "lysis buffer": ("RBC Lysis Buffer", "BioLegend", "mL", 20.0),
    "neutralising medium": ("DMEM/F-12 + 10 % hPL", "PL BioScience", "mL", 40.0),
    "resuspension medium": ("Ringer's lactate + 1 % HSA", "B. Braun", "mL", 10.0),
    "wash buffer": ("PBS + 2 mM EDTA", "Miltenyi", "mL", 50.0),
}
STORAGE = {"collagenase": "at or below -20 °C", "cryoprotectant": "2–8 °C"}

# The kinds of equipment the seeded history works on: the start of processing and the steps.
CABINET = "biosafety_cabinet"
KINDS = (
    CABINET,
    *sorted({s.equipment for p in PROTOCOLS.values() for s in p.steps if s.equipment}),
)
ITEM_NAMES = {
    "biosafety_cabinet": ("Bench biosafety cabinet BSC-B1", "qualification"),
    "centrifuge": ("Bench centrifuge C-B1", "calibration"),
    "incubator": ("Bench CO2 incubator I-B1", "qualification"),
    "cell_counter": ("Bench cell counter NC-B1", "calibration"),
    "controlled_rate_freezer": ("Bench controlled-rate freezer CRF-B1", "qualification"),
}


def product_of(reagent: str) -> tuple[str, str, str, float]:
    return PRODUCTS.get(reagent, (f"{reagent.capitalize()} (bench)", "Bench Supplies", "mL", 10.0))


def item_name(kind: str) -> tuple[str, str]:
    return ITEM_NAMES.get(kind, (f"Bench {kind.replace('_', ' ')}", "calibration"))


def use_row(unit_id: int, checked: Checked, action: str, step: str | None, at: datetime) -> dict:
    """A ``material_uses`` row as ``uses.use`` makes it; ``_entry``: which of the event's ledger
    entries records it (the writer puts that entry's id in its place)."""
    return {
        "unit_id": unit_id,
        "_entry": 0,
        "action": action,
        "step": step,
        "equipment_id": checked.equipment.id if checked.equipment else None,
        "reagent_lot_id": checked.lot.id if checked.lot else None,
        "quantity": checked.quantity,
        "calibration_valid_until": (
            checked.equipment.calibration_valid_until if checked.equipment else None
        ),
        "deviation_id": None,
        "used_at": at,
    }


# ---------------------------------------------------------------------------- equipment


def _detached(item: Equipment) -> Equipment:
    """The item's facts on an object no session holds: the simulator reads it in memory."""
    return Equipment(
        id=item.id,
        code=item.code,
        name=item.name,
        kind=item.kind,
        status=item.status,
        status_reason=item.status_reason,
        calibration_valid_until=item.calibration_valid_until,
        maintenance_due_on=item.maintenance_due_on,
    )


def stock_equipment(qa: User, technician: User, start: datetime, end: datetime) -> dict:
    """An item of each kind the history needs, registered and calibrated through the services
    at ``start - REGISTERED_BEFORE`` (found again when seeding twice; recalibrated when its
    calibration would lapse before ``end``). Returns kind → a detached copy of the item."""
    moment = start - REGISTERED_BEFORE
    valid_until = (end + CALIBRATED_FOR).date()
    items = {}
    for kind in KINDS:
        name, record_kind = item_name(kind)
        item = db.session.scalar(
            select(Equipment)
            .where(Equipment.name == name, Equipment.kind == kind)
            .order_by(Equipment.id)
            .limit(1)
        )
        with clock_at(moment):
            if item is None:
                item = equipment_service.register_equipment(
                    {
                        "name": name,
                        "kind": kind,
                        "model": "bench",
                        "calibration_interval_days": 365,
                    },
                    qa,
                )
            if item.calibration_valid_until is None or item.calibration_valid_until < valid_until:
                equipment_service.record(
                    item.id,
                    {
                        "kind": record_kind,
                        "performed_on": moment.date().isoformat(),
                        "performed_by": "Bench Calibration Services",
                        "certificate_ref": f"BENCH-{item.code}-{valid_until.isoformat()}",
                        "valid_until": valid_until.isoformat(),
                    },
                    technician,
                )
        db.session.refresh(item)
        items[kind] = _detached(item)
    db.session.commit()
    return items


# ---------------------------------------------------------------------------- lots


@dataclass
class LotPlan:
    lot: ReagentLot  # transient: the simulator takes stock from it in memory
    accepted_at: datetime
    receiver: Any  # bench.simulate.Actor
    acceptor: Any


@dataclass
class Register:
    """The seeded history's register: items by kind, lots by reagent (oldest first)."""

    equipment: dict[str, Equipment]
    lots: dict[str, list[LotPlan]] = field(default_factory=dict)

    def item(self, kind: str) -> Equipment:
        return self.equipment[kind]

    def check_item(self, kind: str, at: datetime) -> Checked:
        item = self.equipment[kind]
        problem = equipment_problem(item.state(), at.date())
        if problem:
            raise RuntimeError(f"the bench register's {kind} is not usable at {at}: {problem}")
        return Checked(equipment=item)

    def pick_lot(self, reagent: str, at: datetime, quantity: float) -> ReagentLot:
        """First expiry first out among the lots QA accepted by ``at`` that may be used then
        (the day as ``uses.check_lot`` counts it) with ``quantity`` left."""
        day = at.date()
        for plan in self.lots.get(reagent, ()):  # received in order, so expiring in order
            lot = plan.lot
            if plan.accepted_at > at:
                break
            if lot.expires_on < day or lot.quantity_remaining < quantity:
                continue
            if lot_problem(lot.state(), day, reagent=reagent, quantity=quantity) is None:
                return lot
        raise RuntimeError(f"no {reagent} lot with {quantity:g} left at {at}: plan more stock")

    def take(self, lot: ReagentLot, quantity: float) -> None:
        lot.quantity_remaining = round(lot.quantity_remaining - quantity, 6)

    def all_lots(self) -> Iterable[LotPlan]:
        for plans in self.lots.values():
            yield from plans


def expected_uses(collections: Iterable[Any]) -> Counter:
    """How many steps of the planned processing use each reagent."""
    per_kind: dict[str, Counter] = {}
    found: Counter = Counter()
    for collection in collections:
        if "complete_processing" not in collection.actions:
            continue
        if collection.kind not in per_kind:
            protocol = protocol_for(collection.kind)
            per_kind[collection.kind] = Counter(
                s.reagent for s in (protocol.steps if protocol else ()) if s.reagent
            )
        found.update(per_kind[collection.kind])
    return found


def lot_times(start: datetime, end: datetime) -> list[datetime]:
    first = start - FIRST_LOT_BEFORE
    count = max(1, math.ceil((end - first) / LOT_PERIOD) + 1)
    return [first + LOT_PERIOD * i for i in range(count)]


def plan_lots(
    start: datetime,
    end: datetime,
    collections: list[Any],
    receivers: list[Any],
    acceptor: Any,
    first_id: int,
    first_number: int,
    rng: Any,
) -> dict[str, list[LotPlan]]:
    """Every lot the history receives: ``len(lot_times) * len(reagents)`` of them, ids from
    ``first_id`` and register numbers from ``first_number`` (reserved by the caller)."""
    facility = current_app.config["FACILITY_CODE"]
    times = lot_times(start, end)
    uses = expected_uses(collections)
    window = max(end - start, LOT_PERIOD)
    plans: dict[str, list[LotPlan]] = {}
    next_id, number = first_id, first_number
    for reagent in reagent_names():
        product, manufacturer, unit, per_use = product_of(reagent)
        per_period = uses[reagent] * (LOT_PERIOD / window)
        quantity = per_use * max(20, math.ceil(per_period * STOCK_MARGIN))
        for received_at in times:
            received_at = received_at + timedelta(minutes=rng.uniform(0, 600))
            code = codes.make_reagent_lot_code(facility, number)
            lot = ReagentLot(
                id=next_id,
                code=code,
                reagent=reagent,
                product_name=product,
                manufacturer=manufacturer,
                lot_number=f"{manufacturer[:3].upper()}{received_at:%y%m}-{number:06d}",
                expires_on=(received_at + SHELF_LIFE).date(),
                storage=STORAGE.get(reagent, "15–25 °C"),
                quantity_received=quantity,
                quantity_remaining=quantity,
                quantity_unit=unit,
                coa_ref=f"CoA-{number:06d}",
                received_at=received_at,
                flagged=None,
            )
            receiver = rng.choice(receivers)
            lot.received_by_id = receiver.id
            lot.accepted_by_id, lot.accepted_at = acceptor.id, received_at + ACCEPTED_AFTER
            plans.setdefault(reagent, []).append(LotPlan(lot, lot.accepted_at, receiver, acceptor))
            next_id += 1
            number += 1
    return plans


def lot_count(start: datetime, end: datetime) -> int:
    return len(lot_times(start, end)) * len(reagent_names())


def register_entry(action: str, actor: Any, data: dict, at: datetime) -> dict[str, Any]:
    """A ledger entry about the register (no unit), as ``ledger.append`` builds it."""
    return {
        "unit_id": None,
        "din": None,
        "product_code": None,
        "division": None,
        "action": action,
        "from_status": None,
        "to_status": None,
        "from_custodian_id": None,
        "to_custodian_id": None,
        "from_location_id": None,
        "to_location_id": None,
        "actor_id": actor.id,
        "actor_name": actor.full_name,
        "actor_role": actor.role,
        "recorded_at": at,
        "data": canonical_json(data),
        "reason": None,
        "corrects_id": None,
    }


def lot_row(lot: ReagentLot) -> dict[str, Any]:
    return {
        column.name: getattr(lot, column.key)
        for column in ReagentLot.__table__.columns
        if column.key != "acceptance_entry_id"
    }


def lot_events(plan: LotPlan) -> tuple[Any, Any]:
    """The receipt and QA's signed acceptance, each an event at its own moment; the lot's row
    goes with the acceptance (``_entry``: the entry its ``acceptance_entry_id`` names)."""
    from .simulate import Event  # the simulator imports this module

    lot = plan.lot
    receipt = Event(
        lot.received_at,
        plan.receiver,
        entries=[
            register_entry(
                reagents.RECEIVED, plan.receiver, reagents.lot_facts(lot), lot.received_at
            )
        ],
    )
    record = reagents.signed_record(lot, reagents.ACCEPTED, reagents.APPROVED, None)
    draft = signatures.sign(plan.acceptor, record, reagents.APPROVED, plan.accepted_at)
    data = {
        "lot_id": lot.id,
        "code": lot.code,
        "signed_record": record,
        "signatures": [draft.manifest()],
    }
    row = {
        **lot_row(lot),
        "accepted_by_id": plan.acceptor.id,
        "accepted_at": plan.accepted_at,
        "_entry": 0,
    }
    acceptance = Event(
        plan.accepted_at,
        plan.acceptor,
        entries=[register_entry(reagents.ACCEPTED, plan.acceptor, data, plan.accepted_at)],
        lots=[row],
    )
    return receipt, acceptance


def write_stock(register: Register, today: date) -> dict[str, int]:
    """What the history left of each lot, and the flags the scheduled check would have set:
    used up, or expired before ``today``."""
    rows, flagged = [], Counter()
    for plan in register.all_lots():
        lot = plan.lot
        flag = None
        if lot.quantity_remaining <= 0:
            flag = "used_up"
        elif lot.expires_on < today:
            flag = "expired"
        flagged[flag or "usable"] += 1
        rows.append({"_id": lot.id, "left": lot.quantity_remaining, "flag": flag})
    if rows:
        table = ReagentLot.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(quantity_remaining=bindparam("left"), flagged=bindparam("flag")),
            rows,
        )
    return dict(flagged)


# ---------------------------------------------------------------------------- acting now


@dataclass(frozen=True)
class Codes:
    """What a benchmark acting now names: an item of each kind, a usable lot of each reagent,
    and how much of a lot a step takes."""

    equipment: dict[str, str]
    lots: dict[str, str]
    quantity: float = 1.0


def equipment_now(qa: User, technician: User) -> dict[str, str]:
    """The code of the bench's item of each kind, usable now: registered and calibrated
    through the services when missing (a database seeded before the register existed, a
    fresh load-test database) or lapsed."""
    now = utcnow()
    found = {
        kind: db.session.scalar(
            select(Equipment)
            .where(Equipment.kind == kind, Equipment.name == item_name(kind)[0])
            .order_by(Equipment.id)
            .limit(1)
        )
        for kind in KINDS
    }
    if any(item is None or equipment_problem(item.state(), now.date()) for item in found.values()):
        found = stock_equipment(qa, technician, now, now)
    return {kind: item.code for kind, item in found.items()}


def usable_now(
    receiver: User, acceptor: User, password: str | None = None, enough: float = 100.0
) -> Codes:
    """Codes usable now. Equipment: the bench items (registered and calibrated through the
    services when the seed made none, e.g. a fresh load-test database, or recalibrated when
    lapsed). Lots: the usable lot of each reagent that expires first with ``enough`` left;
    one received and accepted now when there is none (``password``: the acceptor's)."""
    now = utcnow()
    equipment = equipment_now(acceptor, receiver)
    lots = {}
    today = reagents.today()
    for reagent in reagent_names():
        lot = db.session.scalar(
            select(ReagentLot)
            .where(
                ReagentLot.reagent == reagent,
                ReagentLot.accepted_at.is_not(None),
                ReagentLot.flagged.is_(None),
                ReagentLot.expires_on >= max(today, now.date()),
                ReagentLot.quantity_remaining >= enough,
            )
            .order_by(ReagentLot.expires_on, ReagentLot.id)
            .limit(1)
        )
        if lot is None:
            if password is None:
                raise RuntimeError(f"no usable {reagent} lot, and no password to accept one")
            product, manufacturer, unit, _ = product_of(reagent)
            lot = reagents.receive_lot(
                receiver,
                reagent=reagent,
                product_name=product,
                manufacturer=manufacturer,
                lot_number=f"NOW-{now:%y%m%d%H%M%S%f}",
                expires_on=today + SHELF_LIFE,
                storage=STORAGE.get(reagent, "15–25 °C"),
                quantity=1_000_000,
                quantity_unit=unit,
                coa_ref=f"CoA-NOW-{now:%y%m%d%H%M%S}",
            )
            lot = reagents.accept_lot(lot.id, acceptor, password)
        lots[reagent] = lot.code
    db.session.commit()
    return Codes(equipment, lots)
