"""Expiring units whose time is up: what the scheduler (and ``units expire-due``) runs.

Each unit is expired in its own transaction by the system account, through the lifecycle
like any other action; running it twice expires nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ...domain.errors import ServiceError
from ...domain.lifecycle import EXPIRABLE
from ...extensions import db
from ...models import Unit
from ...models.types import utcnow
from ..admin import accounts
from . import units


@dataclass
class ExpiryRun:
    expired: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def due_unit_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(Unit.id)
            .where(
                Unit.status.in_([s.value for s in EXPIRABLE]),
                Unit.expires_at.is_not(None),
                Unit.expires_at <= utcnow(),
            )
            .order_by(Unit.expires_at, Unit.id)
        )
    )


def expire_due() -> ExpiryRun:
    system = accounts.system_user()
    run = ExpiryRun()
    for unit_id in due_unit_ids():
        try:
            units.perform_action(unit_id, "expire", {}, system)
        except ServiceError as exc:  # changed meanwhile (discarded, administered …)
            run.skipped.append((unit_id, exc.message))
        else:
            run.expired.append(unit_id)
    return run
