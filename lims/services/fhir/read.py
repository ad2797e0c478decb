"""Finding FHIR resources for a person: every read goes through ``access`` (decision 61), so a
clinician sees only their patients and everyone only the units of their sites; a record the
reader may not see is the very 404 of an unknown id (docs/fhir.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import joinedload

from ...domain.catalogue import PRODUCT_TYPES, SOURCE_TYPES
from ...domain.errors import NotFound, ServiceError
from ...domain.identifiers import (
    CodeError,
    looks_like_chain_of_identity,
    parse_chain_of_identity,
    parse_din,
)
from ...domain.status import Status
from ...extensions import db
from ...models import OutcomeAssessment, Patient, Unit, User
from .. import access
from . import observations, resources

TYPES = ("Patient", "Specimen", "BiologicallyDerivedProduct", "Procedure", "Observation")
# The search parameters each type takes (besides _count and _offset), as the
# CapabilityStatement lists them.
SEARCH_PARAMS: dict[str, dict[str, str]] = {
    "Patient": {
        "_id": "the patient's id",
        "identifier": "MRN or wristband, as value, system|value or |value",
    },
    "Specimen": {
        "_id": "the collection's id",
        "identifier": "the DIN (13 characters, or with its check character) or the chain of identity",
        "patient": "the patient's id (or Patient/<id>)",
    },
    "BiologicallyDerivedProduct": {
        "_id": "the product's id",
        "identifier": "the DIN (13 characters, or with its check character) or the chain of identity",
        "patient": "the patient's id (or Patient/<id>)",
    },
    "Procedure": {
        "_id": "the administered product's id",
        "patient": "the patient's id (or Patient/<id>)",
    },
    "Observation": {
        "_id": "<assessment id>-<measure code>, e.g. 12-hair-density",
        "patient": "the patient's id (or Patient/<id>)",
    },
}
PAGING = ("_count", "_offset")
DEFAULT_COUNT, MAX_COUNT = 50, 200


class BadSearch(ServiceError):
    """A search FHIR cannot answer as asked: 400 with an OperationOutcome."""

    http_status, code = 400, "bad_search"


@dataclass(frozen=True)
class Page:
    resources: list[dict[str, Any]]
    total: int
    count: int
    offset: int


def no_resource(kind: str, ident: object) -> NotFound:
    """The one answer to an unknown id, another type's id and a record the reader may not see."""
    return NotFound(f"no {kind} with id {str(ident)[:40]}")


def _unknown_type(kind: str) -> NotFound:
    return NotFound(
        f"resource type {kind[:60]!r} is not served here; types: {', '.join(TYPES)}",
        code="unknown_type",
    )


# ---------------------------------------------------------------------------- conditions


def _unit_condition(kind: str) -> ColumnElement[bool]:
    if kind == "Specimen":
        return Unit.unit_type.in_(SOURCE_TYPES)
    if kind == "BiologicallyDerivedProduct":
        return Unit.unit_type.in_(PRODUCT_TYPES)
    return (Unit.unit_type.in_(PRODUCT_TYPES)) & (Unit.status == Status.ADMINISTERED.value)


def _record_id(value: str, kind: str = "") -> int | None:
    if kind and value.startswith(f"{kind}/"):
        value = value[len(kind) + 1 :]
    return access.record_id(value)


def _token(value: str) -> tuple[str | None, str]:
    """A token search value: ``value``, ``system|value`` or ``|value`` (no system)."""
    if "|" in value:
        system, _, code = value.partition("|")
        return system, code
    return None, value


def _patient_identifier(value: str) -> ColumnElement[bool]:
    system, code = _token(value)
    if system in (None, resources.MRN, resources.WRISTBAND, ""):
        by_mrn = Patient.mrn == code
        by_band = Patient.wristband == code.strip().upper()
        if system == resources.MRN:
            return by_mrn
        if system == resources.WRISTBAND:
            return by_band
        return or_(by_mrn, by_band)
    return false()  # a system we do not issue names none of ours


def _din(code: str) -> str | None:
    """The 13-character DIN in a value: itself, with its check character, or as scanned."""
    cleaned = code.strip().upper()
    if len(cleaned) == 13 and cleaned.isalnum():
        return cleaned
    try:
        return parse_din(code).din
    except CodeError:
        return None


def _unit_identifier(value: str) -> ColumnElement[bool]:
    system, code = _token(value)
    conditions = []
    if system in (None, "", resources.DIN) and (din := _din(code)):
        conditions.append(Unit.din == din)
    if system in (None, "", resources.CHAIN_OF_IDENTITY) and looks_like_chain_of_identity(code):
        conditions.append(Unit.chain_of_identity == parse_chain_of_identity(code))
    if system == resources.UNIT:
        din, _, rest = code.strip().upper().partition(" ")
        product_code, _, division = rest.partition(" ")
        conditions.append(
            (Unit.din == din) & (Unit.product_code == product_code) & (Unit.division == division)
        )
    return or_(*conditions) if conditions else false()


def _values(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """Each occurrence of a parameter is ANDed, commas within one are ORed (FHIR search)."""
    return [v for v in params.get(name, ()) if v is not None]


def _paging(params: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        given = _values(params, name)
        if not given:
            return default
        text = given[-1].strip()
        if not (text.isascii() and text.isdigit()):
            raise BadSearch(f"{name} must be a whole number, not {text[:20]!r}")
        return int(text)

    count = min(number("_count", DEFAULT_COUNT), MAX_COUNT)
    offset = number("_offset", 0)
    if offset > 10_000_000:
        raise BadSearch("_offset is too large")
    return count, offset


def _check_params(kind: str, params: Mapping[str, Sequence[str]]) -> None:
    known = SEARCH_PARAMS[kind]
    unknown = sorted(
        name for name in params if name not in known and name not in (*PAGING, "_format")
    )
    if unknown:
        raise BadSearch(
            f"{kind} is not searched by {', '.join(unknown)}; "
            f"search by {', '.join([*known, *PAGING])}"
        )


def _any_of(values: list[str], make) -> list[ColumnElement[bool]]:
    """One condition per occurrence; within one, its comma-separated values ORed."""
    return [or_(*(make(v) for v in value.split(","))) for value in values]


# ---------------------------------------------------------------------------- reads


def _patient(user: User, ident: object) -> Patient:
    try:
        return access.require_patient(user, ident)
    except NotFound:
        raise no_resource("Patient", ident) from None


def _unit(user: User, kind: str, ident: object) -> Unit:
    number = access.record_id(ident)
    found = None
    if number is not None:
        found = db.session.scalar(
            select(Unit)
            .where(Unit.id == number, access.visible_units(user), _unit_condition(kind))
            .options(joinedload(Unit.parent))
        )
    if found is None:
        raise no_resource(kind, ident)
    return found


def _render(kind: str, unit: Unit) -> dict[str, Any]:
    if kind == "Procedure":
        entry = resources.administration_entry(unit)
        if entry is None:
            raise no_resource(kind, unit.id)
        return resources.administration(unit, entry)
    return resources.unit_resource(unit)


def read(user: User, kind: str, ident: str) -> dict[str, Any]:
    """One resource by its id, if the reader may see it."""
    if kind not in TYPES:
        raise _unknown_type(kind)
    if kind == "Patient":
        return resources.patient(_patient(user, ident))
    if kind == "Observation":
        return _observation(user, ident)
    return _render(kind, _unit(user, kind, ident))


def _observation(user: User, ident: str) -> dict[str, Any]:
    parts = observations.split_id(ident)
    row = db.session.get(OutcomeAssessment, parts[0]) if parts else None
    if row is None or not access.may_see_patient(user, row.patient_id):
        raise no_resource("Observation", ident)
    found = [o for o in observations.observations([row]) if o["id"] == ident]
    if not found:  # a measure this assessment did not record
        raise no_resource("Observation", ident)
    return found[0]


def _observation_id(value: str) -> ColumnElement[bool]:
    parts = observations.split_id(value.strip())
    return OutcomeAssessment.id == (parts[0] if parts else 0)


def _search_observations(user: User, params: Mapping[str, Sequence[str]], count: int, offset: int):
    """Every Observation of the matching assessments the reader may see, paged in memory (a
    patient's course has tens of them)."""
    ids = _values(params, "_id")
    conditions = [access.visible_patients(user, OutcomeAssessment.patient_id)]
    conditions += _any_of(ids, _observation_id)
    conditions += _any_of(
        _values(params, "patient"),
        lambda v: OutcomeAssessment.patient_id == (_record_id(v, "Patient") or 0),
    )
    found = observations.observations(observations.rows(*conditions))
    for value in ids:  # the exact ids asked for, not every measure of their rows
        wanted = {v.strip() for v in value.split(",")}
        found = [o for o in found if o["id"] in wanted]
    return Page(found[offset : offset + count], len(found), count, offset)


def search(user: User, kind: str, params: Mapping[str, Sequence[str]]) -> Page:
    """The resources of ``kind`` matching every parameter, among those the reader may see."""
    if kind not in TYPES:
        raise _unknown_type(kind)
    _check_params(kind, params)
    count, offset = _paging(params)
    if kind == "Observation":
        return _search_observations(user, params, count, offset)
    if kind == "Patient":
        conditions = [access.visible_patients(user)]
        conditions += _any_of(_values(params, "identifier"), _patient_identifier)
        conditions += _any_of(_values(params, "_id"), lambda v: Patient.id == (_record_id(v) or 0))
        query = select(Patient).where(*conditions)
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.session.scalars(query.order_by(Patient.id).limit(count).offset(offset))
        return Page([resources.patient(p) for p in rows], total, count, offset)
    conditions = [access.visible_units(user), _unit_condition(kind)]
    conditions += _any_of(_values(params, "identifier"), _unit_identifier)
    conditions += _any_of(_values(params, "_id"), lambda v: Unit.id == (_record_id(v) or 0))
    conditions += _any_of(
        _values(params, "patient"), lambda v: Unit.patient_id == (_record_id(v, "Patient") or 0)
    )
    query = select(Unit).where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Unit.id).limit(count).offset(offset).options(joinedload(Unit.parent))
    ).unique()
    return Page([_render(kind, u) for u in rows], total, count, offset)


def everything(user: User, ident: str) -> list[dict[str, Any]]:
    """One patient's course: the patient, every collection, product and administration of
    theirs the reader may see, and the outcome assessments' Observations
    (``Patient/<id>/$everything``)."""
    record = _patient(user, ident)
    units = db.session.scalars(
        select(Unit)
        .where(Unit.patient_id == record.id, access.visible_units(user))
        .order_by(Unit.id)
        .options(joinedload(Unit.parent))
    ).unique()
    found: list[dict[str, Any]] = [resources.patient(record)]
    given: list[dict[str, Any]] = []
    for unit in units:
        found.append(resources.unit_resource(unit))
        if unit.status == Status.ADMINISTERED.value and not resources.is_source(unit):
            entry = resources.administration_entry(unit)
            if entry is not None:
                given.append(resources.administration(unit, entry))
    assessed = observations.observations(
        observations.rows(OutcomeAssessment.patient_id == record.id)
    )
    return found + given + assessed
