"""Fixtures of the certificate tests: a product brought to release through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lims.models import Unit
from lims.services.actions import units
from tests.service.lab import registration, walk


@pytest.fixture
def unit_in(users) -> Callable[..., Unit]:
    """``unit_in("released")``: the product of a fresh collection in that status."""

    def _unit_in(status: str, kind: str = "ADIPOSE", **overrides: Any) -> Unit:
        unit = units.register(registration(kind, **overrides), users["clinician"]).unit
        return walk(unit, status, users)

    return _unit_in


@pytest.fixture
def api(client, token):
    from tests.api.conftest import Api

    return Api(client, token, {})


@pytest.fixture
def doc(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()
