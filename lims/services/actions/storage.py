"""Where units are kept: store, move and thaw; box grids with one unit per position."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ...db import lock
from ...domain.catalogue import THAW_SHELF_LIFE
from ...domain.errors import Conflict, Invalid, ServiceError
from ...domain.lifecycle import FINAL_STATUSES, MoveFields, ThawFields
from ...extensions import db
from ...models import Location, Unit, User
from ..admin import locations
from .transition import Outcome

FINAL = [s.value for s in FINAL_STATUSES]


def occupant(position: Location, other_than: int | None = None) -> Unit | None:
    stmt = select(Unit).where(Unit.location_id == position.id, Unit.status.not_in(FINAL))
    if other_than is not None:
        stmt = stmt.where(Unit.id != other_than)
    return db.session.scalars(stmt.limit(1)).first()


def _place(unit: Unit, code: str, recorded: dict) -> None:
    """Put the unit at a scanned location; a box with a grid needs one of its positions."""
    try:
        place = locations.by_code(code)
    except ServiceError as exc:
        raise Invalid(exc.message, code=exc.code, fields={"location": exc.message}) from None
    if place.is_grid:
        message = f"{place.name} is a box of positions: scan the position to put the unit in"
        raise Invalid(message, code="position_needed", fields={"location": message})
    if place.site_id != unit.site_id:
        message = f"{place.path} is at another site than the unit: ship the unit there first"
        raise Invalid(message, code="other_site", fields={"location": message})
    if place.kind == "position":
        lock(f"lims.location.{place.id}")  # two units racing for one position: one wins
        other = occupant(place, other_than=unit.id)
        if other is not None:
            raise Conflict(
                f"position {place.path} already holds {other.label}; choose a free position",
                code="position_occupied",
            )
    unit.location_id = place.id
    recorded["location"] = place.code  # canonical, however it was typed
    recorded["location_path"] = place.path


def move(unit: Unit, fields: MoveFields, now: datetime, actor: User) -> Outcome:
    outcome = Outcome()
    _place(unit, fields.location, outcome.recorded)
    return outcome


def thaw(unit: Unit, fields: ThawFields, now: datetime, actor: User) -> Outcome:
    """Thawed: usable for 4 h from now (never longer than it already was)."""
    outcome = Outcome()
    if fields.location:
        _place(unit, fields.location, outcome.recorded)
    unit.thawed_at = now
    limit = now + THAW_SHELF_LIFE
    unit.expires_at = min(unit.expires_at, limit) if unit.expires_at else limit
    outcome.recorded["expires_at"] = unit.expires_at.isoformat()
    return outcome


def grid_of(box: Location) -> list[list[tuple[Location, Unit | None]]]:
    """The box as rows of (position, the live unit in it or None)."""
    positions = [c for c in box.children if c.kind == "position" and c.grid_row]
    held = {
        u.location_id: u
        for u in db.session.scalars(
            select(Unit).where(
                Unit.location_id.in_([p.id for p in positions]), Unit.status.not_in(FINAL)
            )
        )
    }
    rows: dict[int, list[tuple[Location, Unit | None]]] = {}
    for position in sorted(positions, key=lambda p: (p.grid_row, p.grid_column)):
        rows.setdefault(position.grid_row, []).append((position, held.get(position.id)))
    return [rows[r] for r in sorted(rows)]


def occupancy(box: Location) -> tuple[int, int]:
    ids = [c.id for c in box.children if c.kind == "position"]
    used = db.session.scalar(
        select(func.count())
        .select_from(Unit)
        .where(Unit.location_id.in_(ids), Unit.status.not_in(FINAL))
    )
    return used or 0, len(ids)
