"""Places that hold units, each with a scannable code (``L`` + facility + sequence + check).

Codes come from one sequence per facility, so a printed location label never names two
places; a scanned code is classified first, so a unit's barcode offered as a location is
refused with a message saying what it is.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..domain import codes
from ..domain.identifiers import CodeError
from ..domain.roles import Role
from ..extensions import db
from ..models import Location, User
from ..models.location import LOCATION_KINDS
from . import sequences
from .db import transaction
from .errors import Forbidden, Invalid, NotFound


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


def create_location(name: str, kind: str, parent: str | Location | None, actor: User) -> Location:
    """Create a location under ``parent`` (a location or its code); admins only."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only an administrator may create locations", code="role_not_allowed")
    name, kind = _check_name_and_kind(name, kind)
    with transaction():
        parent_location = by_code(parent) if isinstance(parent, str) else parent
        location = Location(code=new_code(), name=name, kind=kind, parent=parent_location)
        db.session.add(location)
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


def all_locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.id)))
