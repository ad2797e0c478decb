"""Find equipment and reagent lots by code or id; make the next code of each.

Codes come from one sequence per facility and kind (``E…`` equipment, ``R…`` reagent lots),
so a printed label never names two things. A scanned code is classified first, so a unit's
barcode offered as equipment is refused with a message saying what it is.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ...domain import codes
from ...domain.errors import Invalid, NotFound
from ...domain.identifiers import MAX_ID, CodeError
from ...extensions import db
from ...models import Equipment, ReagentLot
from .. import sequences


def _next(prefix: str) -> str:
    facility = current_app.config["FACILITY_CODE"]
    return codes.make_tagged_code(prefix, facility, sequences.next_value(f"{prefix}{facility}", 0))


def new_equipment_code() -> str:
    """The next equipment code of this facility (inside the caller's transaction)."""
    return _next("E")


def new_lot_code() -> str:
    """The next reagent-lot code of this facility (inside the caller's transaction)."""
    return _next("R")


def _parse(code: object, wanted: type, kind: str, field: str) -> str:
    prefix = "E" if wanted is codes.EquipmentCode else "R"
    try:
        scanned = codes.classify(code)
    except CodeError as exc:
        message = exc.message
        if not (isinstance(code, str) and code.strip().upper().startswith(prefix)):
            # Free text, or a typo that reads as no kind of code: say what is expected.
            message = (
                f"not a{'n' if kind[0] in 'ae' else ''} {kind} code: scan its label, or type "
                f"{prefix} + 5-character facility + 6 digits + check character"
            )
        raise Invalid(message, code=exc.code, fields={field: message}) from None
    if not isinstance(scanned, wanted):
        message = f"this is a {codes.describe(scanned)} code, not a{'n' if kind[0] in 'ae' else ''} {kind} code"
        raise Invalid(message, code="wrong_kind", fields={field: message})
    return scanned.code


def equipment_by_code(code: object, field: str = "equipment") -> Equipment:
    """The item a scanned or typed code names; a bad code is 422, an unknown one 404."""
    canonical = _parse(code, codes.EquipmentCode, "equipment", field)
    item = db.session.scalar(select(Equipment).where(Equipment.code == canonical))
    if item is None:
        raise NotFound(f"no equipment has code {canonical}", code="unknown_equipment")
    return item


def lot_by_code(code: object, field: str = "lot") -> ReagentLot:
    """The reagent lot a scanned or typed code names; a bad code is 422, an unknown one 404."""
    canonical = _parse(code, codes.ReagentLotCode, "reagent lot", field)
    lot = db.session.scalar(select(ReagentLot).where(ReagentLot.code == canonical))
    if lot is None:
        raise NotFound(f"no reagent lot has code {canonical}", code="unknown_lot")
    return lot


def get_equipment(equipment_id: int) -> Equipment:
    item = db.session.get(Equipment, equipment_id) if 0 < equipment_id <= MAX_ID else None
    if item is None:
        raise NotFound(f"no equipment with id {equipment_id}")
    return item


def get_lot(lot_id: int) -> ReagentLot:
    lot = db.session.get(ReagentLot, lot_id) if 0 < lot_id <= MAX_ID else None
    if lot is None:
        raise NotFound(f"no reagent lot with id {lot_id}")
    return lot
