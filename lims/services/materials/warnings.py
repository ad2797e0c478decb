"""The scheduled checks of the registers (Celery beat runs ``run_checks`` hourly through
``lims.materials_checks``); each is safe to run twice.

- Equipment: 7 days and 1 day before a calibration lapses or a maintenance falls due, and
  once it is overdue, the lab and QA are told (``equipment_due``). Each warning is sent
  once: its dedupe key names the item, what is due, the due date and the warning, so a new
  calibration (a new date) starts afresh. A run that missed a day sends the nearest warning
  that still applies (``domain.materials.due_warning``). Items out of service are not
  warned about; once back in service, the warning that applies then is sent.
- Reagent lots: a lot past its expiry date is flagged ``expired`` once and the lab and QA
  are told (``reagent_lot_flagged``); a lot already flagged (used up) is left alone.

"Today" is the site's calendar day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ...db import transaction
from ...domain.materials import EQUIPMENT_KINDS, IN_SERVICE, due_warning
from ...extensions import db
from ...models import Equipment, ReagentLot
from ...notify.outbox import emit
from .equipment import local_today

WHAT = {"calibration": "calibration", "maintenance": "maintenance"}


def _when(due_on: date, today: date) -> str:
    left = (due_on - today).days
    if left == 0:
        return "today"
    if left == 1:
        return "tomorrow"
    return f"in {left} days"


def _message(item: Equipment, what: str, due_on: date, label: str, today: date) -> str:
    name = f"{item.code} {item.name}"
    if what == "calibration":
        if label == "overdue":
            return (
                f"The calibration of {name} lapsed after {due_on.isoformat()}: it may not be "
                "used on a unit until it is calibrated again."
            )
        return (
            f"The calibration of {name} is valid until {due_on.isoformat()} "
            f"(the last day is {_when(due_on, today)}); arrange its calibration."
        )
    if label == "overdue":
        return f"Maintenance of {name} was due on {due_on.isoformat()} and is overdue."
    return f"Maintenance of {name} is due on {due_on.isoformat()} ({_when(due_on, today)})."


def equipment_due_warnings(today: date) -> int:
    """Warn of calibrations and maintenance falling due or overdue; returns how many were new."""
    items = db.session.scalars(
        select(Equipment).where(Equipment.status == IN_SERVICE).order_by(Equipment.id)
    ).all()
    written = 0
    with transaction():
        for item in items:
            for what, due_on in (
                ("calibration", item.calibration_valid_until),
                ("maintenance", item.maintenance_due_on),
            ):
                label = due_warning(due_on, today)
                if label is None or due_on is None:
                    continue
                kind = EQUIPMENT_KINDS.get(item.kind, item.kind)
                event = emit(
                    "equipment_due",
                    dedupe_key=f"equipment_due:{item.id}:{what}:{due_on.isoformat()}:{label}",
                    subject=f"{kind} {item.name} ({item.code}), {WHAT[what]}",
                    message=_message(item, what, due_on, label, today),
                    path=f"/equipment/{item.id}",
                    equipment_id=item.id,
                    due=what,
                    due_on=due_on.isoformat(),
                    warning=label,
                )
                written += event is not None
    return written


def lot_expiry_flags(today: date) -> int:
    """Flag each lot past its expiry date (``expires_on`` is its last day of use) once, and
    tell the lab and QA; returns how many were flagged now."""
    lots = db.session.scalars(
        select(ReagentLot)
        .where(ReagentLot.flagged.is_(None), ReagentLot.expires_on < today)
        .order_by(ReagentLot.id)
    ).all()
    flagged = 0
    with transaction():
        for lot in lots:
            db.session.refresh(lot)
            if lot.flagged is not None:  # used up meanwhile
                continue
            lot.flagged = "expired"
            emit(
                "reagent_lot_flagged",
                dedupe_key=f"lot_flagged:{lot.id}:expired",
                subject=f"{lot.reagent} lot {lot.lot_number} ({lot.code})",
                message=(
                    f"Lot {lot.lot_number} of {lot.product_name} expired on "
                    f"{lot.expires_on.isoformat()}; it may not be used."
                ),
                path=f"/reagent-lots/{lot.id}",
            )
            flagged += 1
    return flagged


def run_checks(today: date | None = None) -> dict[str, int]:
    """Both checks, for the site's day (default: today)."""
    today = today or local_today()
    return {
        "equipment_warnings": equipment_due_warnings(today),
        "lots_flagged": lot_expiry_flags(today),
    }
