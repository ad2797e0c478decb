"""Scheduled checks (Celery beat runs them through ``lims.worker``); each is safe to run twice.

Expiry warnings and transit-overdue events carry a dedupe key (unit, threshold, expiry), so a
second run writes nothing new; expiring goes through the lifecycle (``services.actions.expiry``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ...db import transaction
from ...domain.lifecycle import EXPIRABLE, Status
from ...extensions import db
from ...models import LedgerEntry, Shipment, Unit
from ...models.types import utcnow
from ...notify.outbox import emit
from . import expiry


def warning_hours() -> list[int]:
    return sorted(current_app.config["NOTIFY_EXPIRY_WARNINGS_HOURS"])


def expiry_warnings() -> int:
    """One warning per unit and threshold: the smallest threshold its time left is under."""
    now = utcnow()
    hours = warning_hours()
    if not hours:
        return 0
    units = db.session.scalars(
        select(Unit).where(
            Unit.status.in_([s.value for s in EXPIRABLE]),
            Unit.expires_at > now,
            Unit.expires_at <= now + timedelta(hours=max(hours)),
        )
    ).all()
    written = 0
    with transaction():
        for unit in units:
            left = unit.expires_at - now
            threshold = next(h for h in hours if left <= timedelta(hours=h))
            key = f"expiry_warning:{unit.id}:{threshold}:{unit.expires_at.isoformat()}"
            written += (
                emit(
                    "expiry_warning",
                    unit,
                    dedupe_key=key,
                    hours=threshold,
                    expires_at=unit.expires_at.isoformat(),
                    status=unit.status,
                )
                is not None
            )
    return written


def expiry_checks() -> dict:
    warned = expiry_warnings()
    run = expiry.expire_due()
    return {"warned": warned, "expired": len(run.expired)}


def transit_checks() -> int:
    """Units in transit longer than ``TRANSIT_OVERDUE_HOURS`` since their dispatch, and
    shipments past their expected arrival."""
    limit = utcnow() - timedelta(hours=current_app.config["TRANSIT_OVERDUE_HOURS"])
    last_dispatch = (
        select(LedgerEntry.unit_id, func.max(LedgerEntry.id).label("entry_id"))
        .where(LedgerEntry.action == "dispatch")
        .group_by(LedgerEntry.unit_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Unit, LedgerEntry)
        .join(last_dispatch, last_dispatch.c.unit_id == Unit.id)
        .join(LedgerEntry, LedgerEntry.id == last_dispatch.c.entry_id)
        .where(Unit.status == Status.IN_TRANSIT.value, LedgerEntry.recorded_at <= limit)
    ).all()
    late = db.session.scalars(
        select(Shipment).where(Shipment.status == "dispatched", Shipment.expected_by <= utcnow())
    ).all()
    written = 0
    with transaction():
        for shipment in late:  # one event per late shipment (decision 102)
            written += (
                emit(
                    "transit_overdue",
                    None,
                    dedupe_key=f"transit_overdue:shipment:{shipment.id}",
                    subject=f"shipment {shipment.code}",
                    path=f"/shipments/{shipment.id}",
                    dispatched_at=shipment.dispatched_at.isoformat(),
                    expected_by=shipment.expected_by.isoformat(),
                )
                is not None
            )
        for unit, entry in rows:
            key = f"transit_overdue:{unit.id}:{entry.id}"
            written += (
                emit(
                    "transit_overdue",
                    unit,
                    dedupe_key=key,
                    dispatched_at=entry.recorded_at.isoformat(),
                )
                is not None
            )
    return written
