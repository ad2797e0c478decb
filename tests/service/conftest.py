"""Service-level fixtures: units in any reachable status, made through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lims.models import Unit
from lims.services import units

from .lab import PATH_TO, data_for, registration


@pytest.fixture
def unit_in(users) -> Callable[..., Unit]:
    """``unit_in("quarantine")``: a unit of a fresh collection in that status."""

    def _unit_in(status: str, kind: str = "ADIPOSE", **overrides: Any) -> Unit:
        unit = units.register(registration(kind, **overrides), users["clinician"]).unit
        result = None
        for step in PATH_TO[status]:
            result = units.perform_action(unit.id, step, data_for(step, kind), users["technician"])
        return result.products[0] if status == "quarantine" else unit

    return _unit_in
