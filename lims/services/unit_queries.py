"""Read-only unit queries for the JSON API: a filtered, paginated list of units.

A search box gets whatever people type or scan: an identifier (with or without its check
character, or the bar-coded ``=`` form), a medical record number, or part of a patient's
name. A code that looks like an identifier but fails its check character is refused with
the reason, unless it happens to be a patient's record number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from ..domain import identifiers
from ..domain.catalogue import CATALOGUE
from ..domain.lifecycle import Status
from ..extensions import db
from ..models import Patient, Unit
from .errors import Invalid

_DIN_BODY = re.compile(r"[A-Z0-9]{5}\d{8}")
_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class UnitPage:
    items: list[Unit]
    page: int
    per_page: int
    total: int


def _mrn_is_known(text: str) -> bool:
    stmt = select(Patient.id).where(func.upper(Patient.mrn) == text.upper()).limit(1)
    return db.session.scalar(stmt) is not None


def _identifier_in(text: str) -> str | None:
    """The DIN a typed or scanned search names, or None when the text is not an identifier."""
    if text.startswith("="):
        try:
            return identifiers.parse_din(text).din
        except identifiers.CodeError as exc:
            raise Invalid(exc.message, code=exc.code, fields={"q": exc.message}) from None
    cleaned = _SEPARATORS.sub("", text).upper()
    if not _DIN_BODY.fullmatch(cleaned[: identifiers.DIN_LENGTH]):
        return None
    if len(cleaned) == identifiers.DIN_LENGTH:
        return cleaned
    if len(cleaned) != identifiers.DIN_LENGTH + 1:
        return None
    try:
        return identifiers.parse_din(cleaned).din
    except identifiers.CodeError as exc:
        if _mrn_is_known(text):
            return None
        raise Invalid(exc.message, code=exc.code, fields={"q": exc.message}) from None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(text: str) -> ColumnElement[bool]:
    mrn = func.upper(Patient.mrn) == text.upper()
    din = _identifier_in(text)
    if din is not None:
        # The identifier alone keeps the look-up on its index; a record number spelt like
        # an identifier is rare but must still be found.
        return or_(Unit.din == din, mrn) if _mrn_is_known(text) else Unit.din == din
    name = func.lower(Patient.name).like(f"%{_escape_like(text.lower())}%", escape="\\")
    return or_(mrn, name)


def search_units(
    *,
    status: Status | str | None = None,
    unit_type: str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> UnitPage:
    """Units matching every filter given, newest first, one page of them and the total."""
    conditions: list[ColumnElement[bool]] = []
    if status:
        if status not in set(Status):
            raise Invalid(f"unknown status {status!r}", fields={"status": "unknown status"})
        conditions.append(Unit.status == str(status))
    if unit_type:
        if unit_type not in CATALOGUE:
            raise Invalid(f"unknown unit type {unit_type!r}", fields={"type": "unknown type"})
        conditions.append(Unit.unit_type == unit_type)
    text = " ".join((q or "").split())
    if text:
        conditions.append(_matches(text))
    total = db.session.scalar(
        select(func.count()).select_from(Unit).join(Unit.patient).where(*conditions)
    )
    stmt = (
        select(Unit)
        .join(Unit.patient)
        .where(*conditions)
        .options(
            contains_eager(Unit.patient),
            selectinload(Unit.custodian),
            selectinload(Unit.location),
        )
        .order_by(Unit.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return UnitPage(list(db.session.scalars(stmt)), page, per_page, total or 0)
