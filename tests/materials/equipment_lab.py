"""Helpers for the equipment register's tests: an item as QA registers it, a calibration as a
technician records it, and a unit the item touched (a ``material_uses`` row, as a processing
step writes one)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Equipment, EquipmentRecord, LedgerEntry, MaterialUse, OutboxEvent, Unit
from lims.models.types import utcnow
from lims.services.materials import equipment


def today() -> date:
    return equipment.local_today()


def make_item(users, as_: str = "qa", **fields: Any) -> Equipment:
    data = {"name": "Centrifuge 1", "kind": "centrifuge", **fields}
    return equipment.register_equipment(data, users[as_])


def calibrate(
    users,
    item: Equipment,
    performed_on: date | None = None,
    valid_until: date | None = None,
    *,
    kind: str = "calibration",
    as_: str = "technician",
    **extra: Any,
) -> EquipmentRecord:
    data: dict[str, Any] = {
        "kind": kind,
        "performed_on": (performed_on or today()).isoformat(),
        "performed_by": "Cal Services Ltd",
        "certificate_ref": extra.pop("certificate_ref", f"CERT-{performed_on or today()}"),
        **extra,
    }
    if valid_until is not None:
        data["valid_until"] = valid_until.isoformat()
    return equipment.record(item.id, data, users[as_])


def a_use(
    item: Equipment, unit: Unit, *, at: datetime | None = None, step: str | None = None
) -> MaterialUse:
    """What a processing step writes when it uses the item (the calibration as it is now)."""
    row = MaterialUse(
        unit_id=unit.id,
        action="record_step" if step else "start_processing",
        step=step,
        equipment_id=item.id,
        calibration_valid_until=item.calibration_valid_until,
        used_at=at or utcnow(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def state() -> tuple[int, int, int, int]:
    """How much the register, its records and the ledger hold, and the outbox."""
    return (count(Equipment), count(EquipmentRecord), count(LedgerEntry), count(OutboxEvent))


def entries(action: str) -> list[LedgerEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)
        )
    )


def days(n: int) -> timedelta:
    return timedelta(days=n)
