"""The catalogue as the admin reads it: unit types (product codes, storage, shelf life), the
processing protocols and their steps, the QC tests with the specification version in force
per product type, and the locations with their barcodes.

Read-only (decision in docs/decisions.md): the catalogue is code-reviewed data that
registration, processing and expiry read directly; only QC specifications have versions an
admin publishes (``/admin/specs``)."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask.typing import ResponseReturnValue

from ...domain import qc as qc_rules
from ...domain.catalogue import CATALOGUE, PRODUCT_TYPES, THAW_SHELF_LIFE, THAWED_STORAGE
from ...domain.processing import PROTOCOLS
from ...domain.roles import Role
from ...models import Location
from ...security import roles_required
from ...services.actions import qc
from ...services.admin import locations
from . import bp


def duration(span: timedelta) -> str:
    """24 h, 48 h, 5 years: as the lab says it."""
    hours = span.total_seconds() / 3600
    if hours >= 24 * 365 and span.days % 365 == 0:
        years = span.days // 365
        return f"{years} year{'' if years == 1 else 's'}"
    if hours >= 24 * 7 and span.days % 7 == 0 and not span.seconds:
        return f"{span.days} days"
    return f"{hours:g} h"


@bp.get("/catalogue")
@roles_required(Role.ADMIN)
def catalogue() -> ResponseReturnValue:
    specified = {p: {s.test: s for s in qc.specs_in_force(p)} for p in PRODUCT_TYPES}
    return render_template(
        "admin/catalogue.html",
        types=list(CATALOGUE.values()),
        protocols=list(PROTOCOLS.values()),
        tests=list(qc_rules.TESTS.values()),
        products=PRODUCT_TYPES,
        specified=specified,
        duration=duration,
        thawed_storage=THAWED_STORAGE,
        thaw_shelf_life=duration(THAW_SHELF_LIFE),
    )


@bp.get("/locations")
@roles_required(Role.ADMIN)
def locations_list() -> ResponseReturnValue:
    """Every place with its code and a link to its label (which shows the barcode); a box's
    positions folded under it, each with its own label link."""
    places = locations.all_locations()
    positions: dict[int, list[Location]] = {}
    for place in places:
        if place.kind == "position" and place.parent_id is not None:
            positions.setdefault(place.parent_id, []).append(place)
    shown = sorted((p for p in places if p.kind != "position"), key=lambda p: p.path)
    return render_template("admin/locations.html", places=shown, positions=positions)
