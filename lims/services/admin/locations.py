"""Places that hold units, each with a scannable code (``L`` + facility + sequence + check).

Codes come from one sequence per facility, so a printed location label never names two
places; a scanned code is classified first, so a unit's barcode offered as a location is
refused with a message saying what it is.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from ...db import transaction
from ...domain import codes
from ...domain.errors import Forbidden, Invalid, NotFound
from ...domain.identifiers import MAX_ID, CodeError
from ...domain.roles import Role
from ...extensions import db
from ...models import Location, Site, User
from ...models.location import LOCATION_KINDS
from .. import access, sequences


def _sequence_scope() -> str:
    return f"L{current_app.config['FACILITY_CODE']}"


def new_code() -> str:
    """The next location code of this facility (inside the caller's transaction)."""
    facility = current_app.config["FACILITY_CODE"]
    return codes.make_location_code(facility, sequences.next_value(_sequence_scope(), 0))


def _check_name_and_kind(name: object, kind: object) -> tuple[str, str]:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 120:
        raise Invalid(
            "a location needs a name of 1 to 120 characters",
            code="invalid_fields",
            fields={"name": "1 to 120 characters"},
        )
    if kind not in LOCATION_KINDS:
        known = ", ".join(LOCATION_KINDS)
        raise Invalid(
            f"unknown kind of location {kind!r}; known: {known}",
            code="invalid_fields",
            fields={"kind": f"one of: {known}"},
        )
    return " ".join(name.split()), str(kind)


MAX_GRID = 26  # rows are lettered A–Z


def _check_grid(kind: str, rows: object, columns: object) -> tuple[int, int] | None:
    if rows is None and columns is None:
        return None
    if kind != "box":
        raise Invalid(
            "only a box has a grid of positions",
            code="invalid_fields",
            fields={"kind": "a grid needs kind box"},
        )
    for name, value in (("rows", rows), ("columns", columns)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GRID:
            raise Invalid(
                f"a box has 1 to {MAX_GRID} {name}",
                code="invalid_fields",
                fields={name: f"1 to {MAX_GRID}"},
            )
    return rows, columns  # type: ignore[return-value]


def position_name(row: int, column: int) -> str:
    return f"{chr(ord('A') + row - 1)}{column}"


def create_location(
    name: str,
    kind: str,
    parent: str | Location | None,
    actor: User,
    *,
    rows: int | None = None,
    columns: int | None = None,
    site_id: int | None = None,
) -> Location:
    """Create a location under ``parent`` (a location or its code); admins only.

    A box with ``rows`` × ``columns`` gets one scannable position per cell (A1, A2 …).
    """
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may create locations", code="role_not_allowed")
    name, kind = _check_name_and_kind(name, kind)
    grid = _check_grid(kind, rows, columns)
    with transaction():
        parent_location = by_code(parent) if isinstance(parent, str) else parent
        # a child is where its parent is; a top-level place at the site named, else the first
        site = parent_location.site_id if parent_location is not None else site_id
        if site is None:
            site = db.session.scalar(select(func.min(Site.id)))
        elif parent_location is None and db.session.get(Site, site) is None:
            raise Invalid(
                f"no site with id {site}", code="unknown_site", fields={"site": "no such site"}
            )
        location = Location(
            code=new_code(), name=name, kind=kind, parent=parent_location, site_id=site
        )
        db.session.add(location)
        if grid:
            location.grid_rows, location.grid_columns = grid
            for row in range(1, grid[0] + 1):
                for column in range(1, grid[1] + 1):
                    db.session.add(
                        Location(
                            code=new_code(),
                            name=position_name(row, column),
                            kind="position",
                            parent=location,
                            grid_row=row,
                            grid_column=column,
                            site_id=site,
                        )
                    )
    return location


def parse_code(code: object) -> str:
    """The canonical location code in ``code``, or ``Invalid`` saying what it is instead."""
    try:
        scanned = codes.classify(code)
    except CodeError as exc:
        raise Invalid(exc.message, code=exc.code, fields={"location": exc.message}) from None
    if not isinstance(scanned, codes.LocationCode):
        message = f"this is a {codes.describe(scanned)} code, not a location code"
        raise Invalid(message, code="wrong_kind", fields={"location": message})
    return scanned.code


def by_code(code: object) -> Location:
    """The location a scanned or typed code names; a bad code is 422, an unknown one 404."""
    canonical = parse_code(code)
    location = db.session.scalar(select(Location).where(Location.code == canonical))
    if location is None:
        raise NotFound(f"no location has code {canonical}", code="unknown_location")
    return location


def get_location(location_id: int) -> Location:
    location = db.session.get(Location, location_id) if 0 < location_id <= MAX_ID else None
    if location is None:
        raise NotFound(f"no location with id {location_id}")
    return location


def all_locations(viewer: User | None = None) -> list[Location]:
    """Every location, or those at the ``viewer``'s sites (admin: all, to configure them)."""
    stmt = select(Location).order_by(Location.id)
    if viewer is not None and viewer.role != Role.ADMIN.value:
        stmt = stmt.where(access.at_my_sites(viewer, Location.site_id))
    return list(db.session.scalars(stmt))
