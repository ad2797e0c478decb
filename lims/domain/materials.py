"""Equipment and reagent lots (product §3): what may touch a unit, and when it may not.

Plain rules, no database: the services load the register and ask these functions whether an
item may be used on a given day, and what a warning about it says.

- Equipment is usable when it is in service and, if it is calibrated at all, its calibration
  is valid on the day of use (``valid_until`` is the last valid day). QA may permit a use
  that breaks this rule through a deviation on the unit, which the step then cites.
- A reagent lot is usable when QA accepted it, it has not expired (``expires_on`` is the
  last day of use), it is of the reagent the step needs, and stock remains.
- Calibration and maintenance warn 7 days and 1 day before they fall due, and once overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .processing import PROTOCOLS

EQUIPMENT_KINDS: dict[str, str] = {
    "centrifuge": "Centrifuge",
    "biosafety_cabinet": "Biosafety cabinet",
    "incubator": "Incubator",
    "cell_counter": "Cell counter",
    "flow_cytometer": "Flow cytometer",
    "endotoxin_reader": "Endotoxin reader",
    "controlled_rate_freezer": "Controlled-rate freezer",
    "ln2_tank": "LN2 tank",
    "refrigerator": "Refrigerator",
    "thermometer": "Thermometer",
    "other": "Other",
}

IN_SERVICE = "in_service"
OUT_OF_SERVICE = "out_of_service"
EQUIPMENT_STATUSES = (IN_SERVICE, OUT_OF_SERVICE)

# A calibration states the instrument measures right until a date; a qualification (IQ/OQ/PQ)
# does the same for equipment that is not calibrated (a cabinet, a freezer); maintenance is the
# scheduled service, due again every ``maintenance_interval_days``.
RECORD_KINDS = ("calibration", "qualification", "maintenance")

QUANTITY_UNITS = ("mL", "mg", "g", "units", "each")

WARN_DAYS = (7, 1)  # warn this many days before a due date, then once when overdue


def reagent_names() -> tuple[str, ...]:
    """Every reagent a protocol step names: a lot is received as one of these."""
    names = {s.reagent for p in PROTOCOLS.values() for s in p.steps if s.reagent}
    return tuple(sorted(names))


@dataclass(frozen=True)
class EquipmentState:
    """What the register says about one item on a given day."""

    code: str
    name: str
    status: str
    status_reason: str | None
    calibration_valid_until: date | None
    maintenance_due_on: date | None


def equipment_problem(state: EquipmentState, on: date) -> str | None:
    """Why this item may not be used on ``on`` (out of service, calibration lapsed), or None.

    Maintenance that is overdue is warned about, not refused: the item still measures right.
    """
    if state.status != IN_SERVICE:
        reason = f" ({state.status_reason})" if state.status_reason else ""
        return f"{state.code} {state.name} is out of service{reason}"
    if state.calibration_valid_until is not None and on > state.calibration_valid_until:
        return (
            f"{state.code} {state.name} is past its calibration: valid until "
            f"{state.calibration_valid_until.isoformat()}"
        )
    return None


@dataclass(frozen=True)
class LotState:
    code: str
    reagent: str
    lot_number: str
    expires_on: date
    accepted: bool
    quantity_remaining: float
    quantity_unit: str


def lot_problem(
    lot: LotState, on: date, *, reagent: str | None, quantity: float | None
) -> str | None:
    """Why this lot may not be used on ``on`` for ``reagent``, or None."""
    if reagent is not None and lot.reagent != reagent:
        return f"lot {lot.code} is {lot.reagent}, not {reagent}"
    if not lot.accepted:
        return f"lot {lot.code} ({lot.lot_number}) has not been accepted by QA"
    if on > lot.expires_on:
        return f"lot {lot.code} ({lot.lot_number}) expired on {lot.expires_on.isoformat()}"
    if lot.quantity_remaining <= 0:
        return f"lot {lot.code} ({lot.lot_number}) is used up"
    if quantity is not None and quantity > lot.quantity_remaining:
        return (
            f"lot {lot.code} has {lot.quantity_remaining:g} {lot.quantity_unit} left; "
            f"{quantity:g} {lot.quantity_unit} cannot be taken from it"
        )
    return None


def due_warning(due_on: date | None, today: date) -> str | None:
    """Which warning a due date earns today: ``"7d"``, ``"1d"``, ``"overdue"`` or None.

    Each is sent once (the caller keys it by item, kind, due date and this label); a job that
    missed a day still sends the nearest one that applies.
    """
    if due_on is None:
        return None
    if today > due_on:
        return "overdue"
    left = (due_on - today).days
    for days in sorted(WARN_DAYS):
        if left <= days:
            return f"{days}d"
    return None


def next_due(performed_on: date, interval_days: int | None) -> date | None:
    return performed_on + timedelta(days=interval_days) if interval_days else None
