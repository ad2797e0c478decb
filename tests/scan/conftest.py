"""Scan fixtures: units in a status (through the services), locations with real codes,
and a fresh look at what is stored, to prove a refused scan changed nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, Location, Unit
from lims.services.admin import locations
from tests.service.lab import PATH_TO


@pytest.fixture
def unit_in(register, act) -> Callable[..., Unit]:
    """``unit_in("received", mrn=...)``: the source unit of a fresh collection in that status."""

    def _unit_in(status: str, kind: str = "ADIPOSE", **overrides: Any) -> Unit:
        unit = register(kind, **overrides)
        for step in PATH_TO[status]:
            act(unit, step)
        return unit

    return _unit_in


@pytest.fixture
def place(users) -> Callable[..., Location]:
    """``place("Box A1", "box", parent=...)``: a location made by the service, with its code."""

    def _place(name: str = "Refrigerator 1", kind: str = "refrigerator", parent=None) -> Location:
        return locations.create_location(name, kind, parent, users["admin"])

    return _place


@pytest.fixture
def stored() -> Callable[[], dict[str, Any]]:
    """Every unit's status, version and location, and the ledger's length, as stored."""

    def _stored() -> dict[str, Any]:
        db.session.rollback()
        rows = db.session.execute(
            select(Unit.id, Unit.status, Unit.version, Unit.location_id).order_by(Unit.id)
        ).all()
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        return {"units": [tuple(r) for r in rows], "ledger": entries}

    return _stored


def last_entry(unit_id: int) -> LedgerEntry:
    return db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.unit_id == unit_id).order_by(LedgerEntry.seq.desc())
    ).first()


from tests.api.conftest import api  # noqa: E402, F401  (the JSON API as a given role)
