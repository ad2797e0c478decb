"""Helpers for the reagent-lot tests: a lot as a technician receives it, QA's acceptance, a
unit the lot touched (a ``material_uses`` row, as a processing step writes one), and a look
at what is stored, to prove a refusal changed nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, MaterialUse, ReagentLot, Unit
from lims.models.types import utcnow
from lims.services.materials import reagents
from tests.conftest import PASSWORD


def today() -> date:
    return reagents.today()


def next_year() -> date:
    return today() + timedelta(days=365)


def lot_fields(**overrides: Any) -> dict[str, Any]:
    """What a technician copies from the delivery (the API's body, the service's fields)."""
    data: dict[str, Any] = {
        "reagent": "collagenase",
        "product_name": "Collagenase NB 4 Standard Grade",
        "manufacturer": "Nordmark",
        "lot_number": "N-2417",
        "expires_on": next_year().isoformat(),
        "storage": "2–8 °C",
        "quantity": 10.0,
        "quantity_unit": "g",
        "coa_ref": "CoA-N-2417",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def receive(users, as_: str = "technician", **overrides: Any) -> ReagentLot:
    return reagents.receive(lot_fields(**overrides), users[as_])


def accepted(users, **overrides: Any) -> ReagentLot:
    """A lot a technician received and QA accepted (signed)."""
    lot = receive(users, **overrides)
    return reagents.accept_lot(lot.id, users["qa"], PASSWORD)


def use_on(
    unit: Unit,
    lot: ReagentLot,
    *,
    step: str = "collagenase_digestion",
    quantity: float | None = 1.0,
    at: datetime | None = None,
) -> MaterialUse:
    """What a processing step writes when it uses the lot on ``unit``."""
    row = MaterialUse(
        unit_id=unit.id,
        action="record_step",
        step=step,
        reagent_lot_id=lot.id,
        quantity=quantity,
        used_at=at or utcnow(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def stored() -> dict[str, Any]:
    """Every lot as stored and the ledger's length."""
    db.session.expire_all()
    lots = db.session.execute(
        select(
            ReagentLot.id,
            ReagentLot.code,
            ReagentLot.lot_number,
            ReagentLot.accepted_by_id,
            ReagentLot.accepted_at,
            ReagentLot.acceptance_entry_id,
            ReagentLot.flagged,
            ReagentLot.quantity_remaining,
        ).order_by(ReagentLot.id)
    ).all()
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    return {"lots": [tuple(row) for row in lots], "ledger": entries}


def entries_of(action: str) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)
        )
    )


def set_expiry(lot: ReagentLot, expires_on: date) -> None:
    """Time passes: the lot's last day is ``expires_on`` (test set-up, not a service)."""
    lot.expires_on = expires_on
    db.session.commit()
