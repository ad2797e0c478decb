"""Service-level fixtures: units in any reachable status, made through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lims.models import Unit
from lims.services.actions import units

from .lab import registration, walk


@pytest.fixture
def unit_in(users) -> Callable[..., Unit]:
    """``unit_in("quarantine")``: a unit of a fresh collection in that status (the product
    from quarantine on)."""

    def _unit_in(status: str, kind: str = "ADIPOSE", **overrides: Any) -> Unit:
        unit = units.register(registration(kind, **overrides), users["clinician"]).unit
        return walk(unit, status, users)

    return _unit_in


@pytest.fixture
def six_entries(users, unit_in) -> None:
    """Three collections at different steps: a ledger of six entries, committed. Entries 1–4
    are registrations and receipts (no other row cites them: tests may cut them out); entry 5
    starts processing, which the equipment's use cites."""
    from lims.extensions import db
    from lims.services.custody import ledger

    unit_in("received")  # register, receive
    unit_in("in_processing")  # register, receive, start processing
    unit_in("collected")  # register
    db.session.commit()
    assert ledger.count() == 6
