"""The transaction boundary: every failure rolls back, and a lost race is a 409."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from lims.db import transaction
from lims.domain.errors import Conflict, Unavailable
from lims.extensions import db
from lims.models import Location


class DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def locations() -> int:
    return db.session.scalar(select(func.count()).select_from(Location))


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (StaleDataError("0 rows matched"), "stale_version"),
        (IntegrityError("INSERT", {}, DriverError("duplicate key")), "concurrent_change"),
        (OperationalError("INSERT", {}, DriverError("database is locked")), "busy"),
        (OperationalError("UPDATE", {}, DriverError("deadlock", "40P01")), "busy"),
        (OperationalError("UPDATE", {}, DriverError("could not serialize", "40001")), "busy"),
    ],
    ids=["stale", "unique", "sqlite busy", "deadlock", "serialization"],
)
def test_a_lost_race_is_a_conflict_and_nothing_is_written(failure, code, app):
    with pytest.raises(Conflict) as refused, transaction():
        db.session.add(Location(code="LOC-1", name="Bench", kind="bench"))
        db.session.flush()
        raise failure
    assert refused.value.code == code
    assert locations() == 0


def test_any_other_failure_passes_through_and_nothing_is_written(app):
    with pytest.raises(ZeroDivisionError), transaction():
        db.session.add(Location(code="LOC-1", name="Bench", kind="bench"))
        db.session.flush()
        1 / 0  # noqa: B018
    assert locations() == 0


def test_other_database_errors_are_not_disguised_as_conflicts(app):
    failure = OperationalError("SELECT", {}, DriverError("relation does not exist", "42P01"))
    with pytest.raises(OperationalError), transaction():
        raise failure


def test_a_lost_connection_is_unavailable_not_a_conflict(app):
    """Since decision 72 a lost connection is a 503 to retry (it was re-raised as itself)."""
    failure = OperationalError("SELECT", {}, DriverError("server closed the connection", "08006"))
    with pytest.raises(Unavailable) as refused, transaction():
        raise failure
    assert refused.value.http_status == 503 and refused.value.retry_after


def test_success_commits(app):
    with transaction():
        db.session.add(Location(code="LOC-1", name="Bench", kind="bench"))
    db.session.rollback()
    assert locations() == 1
