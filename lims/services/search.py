"""Read-only queries behind the units list (browser and API): search, filter, paginate.

A lab searches by what is in front of them: a label (identifier with or without its
check character, or the scanned ``=DIN..`` form), a record number, or a patient's name.
An identifier with a wrong check character is refused, as at the scan station, so a
misread label never silently shows some other collection.

Only units of patients the searcher may see are found or counted (``services.access``,
decision 61), and a record number of a patient they may not see is like an unknown one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from ..domain import identifiers
from ..domain.catalogue import CATALOGUE
from ..domain.errors import Invalid
from ..domain.lifecycle import Status
from ..extensions import db
from ..models import Patient, Unit, User
from . import access

MAX_QUERY = 100
_DIN_LIKE = re.compile(r"^[A-Z0-9]{5}\d{8}[0-9A-Z*]?$")


@dataclass(frozen=True)
class UnitPage:
    """One page of units, newest first, and where it sits in the whole result."""

    items: list[Unit]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _identifier(text: str) -> str | None:
    """The DIN a typed or scanned identifier names, or None if the text is not one.

    Raises ``Invalid`` for an identifier whose check character (or flags) is wrong.
    """
    if text.startswith("="):
        return _parsed(text)
    cleaned = re.sub(r"[\s\-]", "", text).upper()
    if not _DIN_LIKE.match(cleaned):
        return None
    if len(cleaned) == identifiers.DIN_LENGTH:
        return cleaned  # without its check character: a search, not a scan
    return _parsed(cleaned)


def _parsed(text: str) -> str:
    try:
        return identifiers.parse_din(text).din
    except identifiers.CodeError as exc:
        raise Invalid(exc.message, code=exc.code, fields={"q": exc.message}) from None


def _is_mrn(text: str, viewer: User) -> bool:
    found = select(Patient.id).where(Patient.mrn == text, access.visible_patients(viewer))
    return db.session.scalar(found) is not None


def _text_filter(stmt: Select, text: str, viewer: User) -> Select:
    text = " ".join(text.split())
    if not text:
        return stmt
    if len(text) > MAX_QUERY:
        message = f"search for at most {MAX_QUERY} characters"
        raise Invalid(message, code="query_too_long", fields={"q": message})
    try:
        din = _identifier(text)
    except Invalid:
        if _is_mrn(text, viewer):  # a long numeric record number can look like an identifier
            return stmt.where(Patient.mrn == text)
        raise
    if din is not None:
        return stmt.where(or_(Unit.din == din, Patient.mrn == text))
    pattern = _like(text)
    compact = _like(re.sub(r"[\s\-]", "", text).upper())
    return stmt.where(
        or_(
            Patient.mrn.ilike(pattern, escape="\\"),
            Patient.name.ilike(pattern, escape="\\"),
            Unit.din.like(compact, escape="\\"),
        )
    )


def _check_choice(value: str | None, known, name: str) -> str | None:
    if not value:
        return None
    if value not in known:
        message = f"unknown {name} {value!r}"
        raise Invalid(message, code=f"unknown_{name}", fields={name: message})
    return value


def search_units(
    text: str = "",
    *,
    viewer: User,
    status: str | None = None,
    unit_type: str | None = None,
    page: int = 1,
    per_page: int = 25,
    clamp_page: bool = True,
) -> UnitPage:
    """Units matching the search text and filters that ``viewer`` may see, newest first,
    one page of them.

    With ``clamp_page`` a page past the end shows the last page, so a stale link in the
    browser never shows an empty list; the API asks for exact pages.
    """
    status = _check_choice(status, {s.value for s in Status}, "status")
    unit_type = _check_choice(unit_type, CATALOGUE, "type")
    filters = [access.visible_units(viewer)]
    if status:
        filters.append(Unit.status == status)
    if unit_type:
        filters.append(Unit.unit_type == unit_type)
    text = " ".join((text or "").split())
    count = select(func.count(Unit.id)).where(*filters)
    if text:  # only a text search needs the patient in the count
        count = _text_filter(count.join(Unit.patient), text, viewer)
    total = db.session.scalar(count) or 0
    stmt = _text_filter(select(Unit).join(Unit.patient).where(*filters), text, viewer)
    per_page = max(1, per_page)
    page = max(1, page)
    if clamp_page:
        page = min(page, max(1, math.ceil(total / per_page)))
    items = db.session.scalars(
        stmt.options(
            contains_eager(Unit.patient),
            selectinload(Unit.custodian),
            selectinload(Unit.location),
        )
        .order_by(Unit.id.desc())  # ids grow with registration: newest first, on an index
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return UnitPage(list(items), total, page, per_page)
