"""Service-level fixtures: units in any reachable status, made through the services."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from lims.models import Unit
from lims.services import units

from .lab import PATH_TO, data_for, registration


def _empty_postgres(url: str) -> None:
    """Empty every table, as the owner past the ledger triggers (replica role). DELETE is
    ten times faster than TRUNCATE on these small tables, and these tests run by the hundred."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).scalars()
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in list(tables):
            conn.exec_driver_sql(f'DELETE FROM "{table}"')
    engine.dispose()


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    """As the shared fixture, but PostgreSQL is emptied by DELETE (see ``_empty_postgres``)."""
    if backend == "sqlite":
        path = tmp_path / "lims.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


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
