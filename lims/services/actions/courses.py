"""Therapy courses and their chain-of-identity identifiers (ISBT 128 ST-028; decision 104).

A course is given at the first collection of a treatment (or before it) and every later
collection of the same treatment joins it; products inherit it from their collection. The
identifier links them all, across sites and months, on labels, the certificate and in FHIR.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select

from ...domain import identifiers
from ...domain.errors import Conflict, Invalid, NotFound
from ...domain.fields import NEW_COURSE
from ...driver import DriverSelect, attach, column_keys
from ...extensions import db
from ...models import Patient, Site, TherapyCourse, Unit, User
from .. import sequences


def start(patient: Patient, site: Site, actor: User, at: datetime) -> TherapyCourse:
    """A new course for ``patient``, its identifier numbered at ``site`` for ``at``'s year
    (inside the caller's transaction)."""
    number = sequences.next_value(f"{identifiers.COI_PREFIX}{site.code}", at.year)
    course = TherapyCourse(
        code=identifiers.make_chain_of_identity(site.code, at.year, number),
        patient_id=patient.id,
        site_id=site.id,
        started_at=at,
        started_by_id=actor.id,
    )
    db.session.add(course)
    db.session.flush()
    return course


_COURSE_KEYS = column_keys(TherapyCourse)
_LATEST = DriverSelect(  # every registration asks: on the driver (decision 123)
    select(*(getattr(TherapyCourse, k) for k in _COURSE_KEYS))
    .where(TherapyCourse.patient_id == bindparam("patient_id"))
    .order_by(TherapyCourse.started_at.desc(), TherapyCourse.id.desc())
    .limit(1)
)


def latest(patient_id: int) -> TherapyCourse | None:
    row = _LATEST.first({"patient_id": patient_id})
    return attach(TherapyCourse, row, existing=True) if row is not None else None


def assign(
    patient: Patient, requested: str | None, site: Site, actor: User, at: datetime
) -> tuple[TherapyCourse, bool]:
    """The course a new collection of ``patient`` joins, and whether it was started now.

    ``requested``: None (the patient's latest course, or a new one if they have none),
    ``"new"``, or the identifier of one of the patient's courses. An identifier of another
    patient's course is refused: a course never mixes two people's cells.
    """
    if requested == NEW_COURSE:
        return start(patient, site, actor, at), True
    if requested is None:
        found = latest(patient.id) if patient.id is not None else None
        return (found, False) if found is not None else (start(patient, site, actor, at), True)
    found = db.session.scalar(select(TherapyCourse).where(TherapyCourse.code == requested))
    if found is None:
        raise Invalid(
            f"no therapy course {requested}: choose one of the patient's courses or start a "
            "new one",
            code="unknown_course",
            fields={"course": "no such course"},
        )
    if found.patient_id != patient.id:
        raise Conflict(
            f"therapy course {requested} belongs to another patient: check the patient's "
            "identity and the course before registering",
            code="course_of_another_patient",
            fields={"course": "another patient's course"},
        )
    return found, False


def of_patient(patient_id: int) -> list[tuple[TherapyCourse, int]]:
    """The patient's courses, latest first, each with how many units carry it."""
    counts = (
        select(Unit.chain_of_identity, func.count().label("units"))
        .where(Unit.patient_id == patient_id)
        .group_by(Unit.chain_of_identity)
        .subquery()
    )
    rows = db.session.execute(
        select(TherapyCourse, func.coalesce(counts.c.units, 0))
        .outerjoin(counts, counts.c.chain_of_identity == TherapyCourse.code)
        .where(TherapyCourse.patient_id == patient_id)
        .order_by(TherapyCourse.started_at.desc(), TherapyCourse.id.desc())
    ).all()
    return [(course, count) for course, count in rows]


def by_code(text: object) -> TherapyCourse:
    """The course a scanned or typed identifier names (``Invalid`` when it is no identifier,
    ``NotFound`` when no course has it). Callers check the reader may see its patient."""
    try:
        code = identifiers.parse_chain_of_identity(text)
    except identifiers.CodeError as exc:
        raise Invalid(exc.message, code=f"course_{exc.code}") from None
    found = db.session.scalar(select(TherapyCourse).where(TherapyCourse.code == code))
    if found is None:
        raise NotFound(f"no therapy course {code}", code="unknown_course")
    return found


def units_of(course: TherapyCourse) -> list[Unit]:
    """Every unit of the course, collections first, in the order they were made."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.chain_of_identity == course.code)
            .order_by(Unit.collected_at, Unit.parent_id.is_not(None), Unit.id)
        )
    )
