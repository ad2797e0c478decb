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

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, cast, func, or_, select
from sqlalchemy import text as text_clause
from sqlalchemy.orm import contains_eager, selectinload

from ..db import is_postgres
from ..domain import identifiers
from ..domain.catalogue import CATALOGUE
from ..domain.errors import Invalid
from ..domain.lifecycle import Status
from ..extensions import db
from ..models import Patient, Unit, User, search_index
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


def _of_patients(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Units of the patients matching ``condition``. On PostgreSQL the patients' ids are read
    first into an array (``= ANY``), which the index on ``units.patient_id`` can take in a
    bitmap beside the identifier's trigram index; a semi-join could not."""
    if is_postgres():
        ids = select(func.array_agg(Patient.id)).where(condition).scalar_subquery()
        # the cast makes it one array value, not ``ANY (subquery)`` over rows
        return Unit.patient_id == any_(cast(ids, ARRAY(Integer)))
    return Unit.patient_id.in_(select(Patient.id).where(condition))


def _contains(text: str, compact: str) -> ColumnElement[bool]:
    """Units whose patient's name or record number contains ``text``, or whose identifier
    contains ``compact`` — on the text-search indexes (decision 95) when the text is long
    enough for a trigram."""
    short = len(text) < search_index.MIN_CHARACTERS or not any(c.isalnum() for c in text)
    if is_postgres() or short:  # PostgreSQL's trigram indexes serve ILIKE itself
        pattern = _like(text)
        return or_(
            _of_patients(
                or_(
                    Patient.name.ilike(pattern, escape="\\"),
                    Patient.mrn.ilike(pattern, escape="\\"),
                )
            ),
            Unit.din.like(_like(compact), escape="\\"),
        )
    # SQLite: FTS5 trigram tables; a quoted phrase matches anywhere in a column
    patients = text_clause(
        "SELECT rowid FROM patients_search WHERE patients_search MATCH :patient_phrase"
    ).bindparams(patient_phrase=_phrase(text))
    condition = Unit.patient_id.in_(patients)
    if len(compact) >= search_index.MIN_CHARACTERS:
        units = text_clause(
            "SELECT rowid FROM units_search WHERE units_search MATCH :unit_phrase"
        ).bindparams(unit_phrase=_phrase(compact))
        condition = or_(condition, Unit.id.in_(units))
    return condition


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _text_filter(text: str, viewer: User) -> ColumnElement[bool] | None:
    """The condition on ``Unit`` a search text sets (None for no text)."""
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) > MAX_QUERY:
        message = f"search for at most {MAX_QUERY} characters"
        raise Invalid(message, code="query_too_long", fields={"q": message})
    if identifiers.looks_like_chain_of_identity(text):  # every unit of one therapy course
        return Unit.chain_of_identity == identifiers.parse_chain_of_identity(text)
    try:
        din = _identifier(text)
    except Invalid:
        if _is_mrn(text, viewer):  # a long numeric record number can look like an identifier
            return _of_patients(Patient.mrn == text)
        raise
    if din is not None:
        return or_(Unit.din == din, _of_patients(Patient.mrn == text))
    return _contains(text, re.sub(r"[\s\-]", "", text).upper())


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
    matching = _text_filter(text or "", viewer)
    if matching is not None:
        filters.append(matching)
    total = db.session.scalar(select(func.count(Unit.id)).where(*filters)) or 0
    stmt = select(Unit).join(Unit.patient).where(*filters)
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
