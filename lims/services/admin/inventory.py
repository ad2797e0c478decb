"""What is stored where, for the location pages: live units per location, in one query."""

from __future__ import annotations

from sqlalchemy import func, select

from ...domain.lifecycle import FINAL_STATUSES
from ...extensions import db
from ...models import Location, Unit

FINAL = [s.value for s in FINAL_STATUSES]


def live_unit_counts() -> dict[int, int]:
    """Location id → how many live (not final) units are kept there."""
    rows = db.session.execute(
        select(Unit.location_id, func.count())
        .where(Unit.location_id.is_not(None), Unit.status.not_in(FINAL))
        .group_by(Unit.location_id)
    )
    return {location_id: count for location_id, count in rows}


def units_at(location: Location) -> list[Unit]:
    """The live units kept directly at a location (not in its children), oldest first."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.location_id == location.id, Unit.status.not_in(FINAL))
            .order_by(Unit.id)
        )
    )
