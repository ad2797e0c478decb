"""Who may see which patient, and so which unit: the one place the rule lives (decision 61).

Minimum necessary access. QA and admin see every patient (they answer for all of them), and
so does scheduled work (the system account expires units of every patient).

- A clinician sees the patients they are named on: as treating clinician
  (``Patient.clinician_id``), on an appointment, as the one who took a collection
  (``Unit.collected_by_id``: they registered it and must be able to dispatch it), or as the
  clinician a unit was dispensed to (a ``dispense`` ledger entry moving custody to them).
  An admin may grant a clinician every patient (``users.all_patients``).
- A technician sees every patient of whom the lab holds a unit, in any status: the lab
  receives, processes, stores, reprints and investigates units of every patient, and a unit
  scanned at the bench must always open. A patient known only to the clinic (no unit yet)
  is not the lab's to see.
- Any other account sees no patient.

Sites (decision 103): a unit belongs to a site, and a person sees the units of the sites
they belong to. A member of every active site — everyone, in an installation of one site —
has no site condition at all, so a single site reads exactly as before.

A unit is seen with its patient (every unit of a collection belongs to one patient). A
refusal is the very ``NotFound`` an unknown id gets, word for word, so it says nothing about
whether the record exists. Every rule is a SQL condition, so a list is filtered in the one
query that reads it (no query per row).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from flask import g
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    and_,
    bindparam,
    exists,
    false,
    literal,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased, joinedload, with_expression

from ..domain.errors import NotFound
from ..domain.identifiers import MAX_ID
from ..domain.roles import Role
from ..driver import DriverSelect, attach, column_keys
from ..extensions import db
from ..models import (
    Appointment,
    LedgerEntry,
    Location,
    Patient,
    Site,
    Unit,
    User,
    user_sites,
)
from ..models.unit import children_listed

SEE_EVERY_PATIENT = frozenset({Role.QA, Role.ADMIN, Role.SYSTEM})
_SCOPES = "lims.site_scopes"  # g: user id → the ids of their sites, or None (every site)


def site_scope(user: User) -> frozenset[int] | None:
    """The ids of the sites whose units ``user`` sees; None: every site (a member of every
    active site, or scheduled work). Read once per request (``forget_site_scopes``)."""
    if user.role == Role.SYSTEM.value:
        return None
    if user.__dict__.get("sites_missing") == 0:  # read with the person at sign-in: every site
        return None
    known = g.setdefault(_SCOPES, {})
    if user.id not in known:
        rows = db.session.execute(
            select(Site.id, Site.active, user_sites.c.user_id).outerjoin(
                user_sites,
                and_(user_sites.c.site_id == Site.id, user_sites.c.user_id == user.id),
            )
        ).all()
        mine = frozenset(row.id for row in rows if row.user_id is not None)
        every = all(row.user_id is not None for row in rows if row.active)
        known[user.id] = None if every else mine
    return known[user.id]


def forget_site_scopes() -> None:
    """Sites or memberships changed: read everyone's scope afresh."""
    g.pop(_SCOPES, None)


def at_my_sites(user: User, site_id=None) -> ColumnElement[bool]:
    """A WHERE condition: the unit (``site_id`` column, default ``Unit.site_id``) is at one of
    the user's sites; no condition at all for a member of every site."""
    scope = site_scope(user)
    if scope is None:
        return true()
    return (Unit.site_id if site_id is None else site_id).in_(scope)


def in_scope(user: User, site_id: int | None) -> bool:
    scope = site_scope(user)
    return scope is None or site_id in scope


def sees_every_patient(user: User) -> bool:
    """QA, admin and scheduled work; a clinician only with an admin's grant."""
    if user.role in {r.value for r in SEE_EVERY_PATIENT}:
        return True
    return user.role == Role.CLINICIAN.value and bool(user.all_patients)


def _named_on(clinician_id: int) -> CompoundSelect:
    """The ids of the patients a clinician is named on. Each part reads its own aliases and
    never correlates with the query it filters (which may itself read patients or units)."""
    treated, booked = aliased(Patient), aliased(Appointment)
    collected, dispensed, entry = aliased(Unit), aliased(Unit), aliased(LedgerEntry)
    return union(
        # their treating clinician
        select(treated.id).where(treated.clinician_id == clinician_id).correlate(None),
        # named on an appointment
        select(booked.patient_id).where(booked.clinician_id == clinician_id).correlate(None),
        # took one of the patient's collections
        select(collected.patient_id)
        .where(collected.collected_by_id == clinician_id)
        .correlate(None),
        # received a unit of theirs: the dispense entry that moved custody to them
        select(dispensed.patient_id)
        .join(entry, entry.unit_id == dispensed.id)
        .where(entry.action == "dispense", entry.to_custodian_id == clinician_id)
        .correlate(None),
    )


def visible_patients(user: User, patient_id: ColumnElement[int] | None = None) -> ColumnElement:
    """A WHERE condition: the patient whose id is ``patient_id`` (default ``Patient.id``) is
    one this user may see."""
    column = Patient.id if patient_id is None else patient_id
    if sees_every_patient(user):
        return true()
    if user.role == Role.CLINICIAN.value:
        return column.in_(_named_on(user.id))
    if user.role == Role.TECHNICIAN.value:
        held = aliased(Unit)
        here = at_my_sites(user, held.site_id)
        return exists(select(held.id).where(held.patient_id == column, here))
    return false()


def visible_units(user: User) -> ColumnElement:
    """A WHERE condition on ``Unit``: units of patients this user may see. A technician sees
    every unit (each belongs to a patient the lab holds a unit of: itself)."""
    here = at_my_sites(user)
    if sees_every_patient(user) or user.role == Role.TECHNICIAN.value:
        return here
    return and_(visible_patients(user, Unit.patient_id), here)


def record_id(value: object) -> int | None:
    """A record id from a path or a body; anything that cannot be one is None (not found)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def no_patient(patient_id: object) -> NotFound:
    """The one answer to an unknown patient and to one this user may not see."""
    return NotFound(f"no patient with id {str(patient_id)[:40]}")


def no_unit(unit_id: object) -> NotFound:
    """The one answer to an unknown unit and to one this user may not see."""
    return NotFound(f"no unit with id {str(unit_id)[:40]}")


def require_patient(user: User, patient_id: object) -> Patient:
    """The patient, if this user may see them; otherwise exactly "no such patient"."""
    ident = record_id(patient_id)
    found = None
    if ident is not None:
        found = db.session.scalar(
            select(Patient).where(Patient.id == ident, visible_patients(user))
        )
    if found is None:
        raise no_patient(patient_id)
    return found


# What a reader of a unit shows or checks next (its patient, its custodian), loaded in the
# same round trip as the unit rather than one lazy query each.
WITH_PEOPLE = (joinedload(Unit.patient), joinedload(Unit.custodian))
# ... and the ids of its children, for a reader that only shows the unit (a look-up, a scan).
# Not for a unit about to be acted on: an action that makes products would leave the list
# it loaded behind (decision 96).
TO_SHOW = (*WITH_PEOPLE, with_expression(Unit.children_listed, children_listed()))


# For those who see every unit, built once (a statement keeps its cache key: decision 96).
_ANY_UNIT = select(Unit).where(Unit.id == bindparam("unit_id")).options(*WITH_PEOPLE)


# The same read on the driver (decision 116), for those who see every unit: the unit, its
# children's ids, its patient, its custodian and a stored unit's place with the places above
# it in one row, made into the session's objects.
_UNIT_KEYS = column_keys(Unit)
_PATIENT_KEYS = column_keys(Patient)
_PERSON_KEYS = column_keys(User)
_LOCATION_KEYS = column_keys(Location)
_custodian = aliased(User)
# A stored unit's place and the places above it come with the unit, up to this many (site ›
# room › freezer › rack › box › position is six; a deeper place's upper places come in a
# statement of their own), each with what its name in the unit's answer needs: the rest of
# a place's columns load if something asks for them.
PLACE_LEVELS = 6
_PLACE_KEYS = ("id", "code", "name", "parent_id")
_levels = [aliased(Location, name=f"place_{n}") for n in range(PLACE_LEVELS)]


def shown_units(where: ColumnElement[bool], *order: ColumnElement) -> DriverSelect:
    statement = (
        select(
            *(getattr(Unit, key) for key in _UNIT_KEYS),
            children_listed().label("children_listed"),
            *(getattr(Patient, key).label(f"patient_{key}") for key in _PATIENT_KEYS),
            *(getattr(_custodian, key).label(f"custodian_{key}") for key in _PERSON_KEYS),
            *(
                getattr(level, key).label(f"place{n}_{key}")
                for n, level in enumerate(_levels)
                for key in _PLACE_KEYS
            ),
        )
        .join(Patient, Patient.id == Unit.patient_id)
        .outerjoin(_custodian, _custodian.id == Unit.custodian_id)
        .outerjoin(_levels[0], _levels[0].id == Unit.location_id)
    )
    for below, level in itertools.pairwise(_levels):
        statement = statement.outerjoin(level, level.id == below.parent_id)
    return DriverSelect(statement.where(where).order_by(*order))


_UNIT_END = len(_UNIT_KEYS) + 1  # with children_listed
_PATIENT_END = _UNIT_END + len(_PATIENT_KEYS)
_PERSON_END = _PATIENT_END + len(_PERSON_KEYS)
_ID, _PARENT_ID = _PLACE_KEYS.index("id"), _PLACE_KEYS.index("parent_id")


def _place_and_above() -> DriverSelect:
    """A place and every place above it, the top one first: one statement (a recursive
    query), for a place deeper than the shown units' row carries."""
    above = (
        select(*(getattr(Location, k) for k in _LOCATION_KEYS), literal(0).label("depth"))
        .where(Location.id == bindparam("location_id"))
        .cte("above", recursive=True)
    )
    above = above.union_all(
        select(*(getattr(Location, k) for k in _LOCATION_KEYS), above.c.depth + 1).join(
            above, Location.id == above.c.parent_id
        )
    )
    return DriverSelect(
        select(*(above.c[k] for k in _LOCATION_KEYS)).order_by(above.c.depth.desc())
    )


_PLACE_AND_ABOVE = _place_and_above()


def _places(keys: Sequence[str], rows: Iterable[Sequence[Any]]) -> Location | None:
    """The session's place of the last of ``rows`` (places, the top one first, their
    ``keys``), each with the one before it as its parent; one the session holds already is
    taken as it is."""
    place = None  # the top place's parent
    for row in rows:
        values = dict(zip(keys, row, strict=True))
        place = attach(Location, values, {"parent": place}, existing=True)
    return place


def _place(row: Sequence[Any]) -> Location | None:
    """A shown unit's place, with the places above it loaded as its parents (so its ``path``
    reads nothing more), from the levels of its row."""
    levels = []
    for n in range(PLACE_LEVELS):
        start = _PERSON_END + n * len(_PLACE_KEYS)
        level = row[start : start + len(_PLACE_KEYS)]
        levels.append(level)
        if level[_PARENT_ID] is None:
            break
    place_id = levels[0][_ID]
    held = db.session.identity_map.get(db.session.identity_key(Location, place_id))
    if held is not None:
        return held  # type: ignore[return-value]
    if levels[-1][_PARENT_ID] is not None:  # deeper than the row reaches
        return _places(_LOCATION_KEYS, _PLACE_AND_ABOVE.rows({"location_id": place_id}))
    return _places(_PLACE_KEYS, reversed(levels))


def read_shown(read: DriverSelect, params: dict) -> list[Unit]:
    """The units ``read`` (made by ``shown_units``) finds, as the session's objects with
    their patient, custodian and children's ids loaded (``TO_SHOW`` by the ORM), and a
    stored unit's place with the places above it."""
    found = []
    for row in read.rows(params):
        patient = attach(
            Patient,
            dict(zip(_PATIENT_KEYS, row[_UNIT_END:_PATIENT_END], strict=True)),
            existing=True,
        )
        custodian = None
        if row[_PATIENT_END] is not None:
            custodian = attach(
                User,
                dict(zip(_PERSON_KEYS, row[_PATIENT_END:_PERSON_END], strict=True)),
                existing=True,
            )
        values = dict(zip((*_UNIT_KEYS, "children_listed"), row[:_UNIT_END], strict=True))
        related = {"patient": patient, "custodian": custodian}
        if values["location_id"] is not None:
            related["location"] = _place(row)
        unit = attach(Unit, values, related, existing=True)
        found.append(unit)
    return found


UNIT_SHOWN = shown_units(Unit.id == bindparam("unit_id"))


def sees_every_unit(user: User) -> bool:
    """``visible_units`` is no condition at all for this user (a statement may be reused)."""
    return (sees_every_patient(user) or user.role == Role.TECHNICIAN.value) and site_scope(
        user
    ) is None


def require_unit(user: User, unit_id: object, *, to_show: bool = False) -> Unit:
    """The unit, if this user may see its patient; otherwise exactly "no such unit".
    ``to_show``: with its children's ids, for a reader that changes nothing."""
    ident = record_id(unit_id)
    found = None
    if ident is not None and to_show and sees_every_unit(user):
        shown = read_shown(UNIT_SHOWN, {"unit_id": ident})
        found = shown[0] if shown else None
    elif ident is not None and sees_every_unit(user):
        found = db.session.scalar(_ANY_UNIT, {"unit_id": ident})
    elif ident is not None:
        found = db.session.scalar(
            select(Unit)
            .where(Unit.id == ident, visible_units(user))
            .options(*(TO_SHOW if to_show else WITH_PEOPLE))
        )
    if found is None:
        raise no_unit(unit_id)
    return found


def may_see_patient(user: User, patient_id: int) -> bool:
    """One question, one query (none for those who see every patient)."""
    if sees_every_patient(user):
        return True
    return bool(
        db.session.scalar(select(exists().where(Patient.id == patient_id, visible_patients(user))))
    )


def check_unit(user: User, unit: Unit) -> None:
    """Refuse a unit already read (by id, by scan) that this user may not see."""
    if not in_scope(user, unit.site_id):
        raise no_unit(unit.id)
    if user.role == Role.TECHNICIAN.value:
        return
    if not may_see_patient(user, unit.patient_id):
        raise no_unit(unit.id)
