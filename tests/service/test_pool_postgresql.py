"""Connections on PostgreSQL alone (decision 96): a read-only view reads in autocommit, and
a pooled connection the server dropped while idle is replaced before it is used. SQLite has
neither a server-side transaction to skip nor a server to drop a connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from lims import pool
from lims.extensions import db
from lims.models import User

from .test_pool import _count_users_then


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def test_a_read_only_view_on_postgresql_is_in_no_transaction(app):
    def status():
        return db.session.connection().connection.driver_connection.info.transaction_status.name

    assert _count_users_then(status) == "IDLE"
    db.session.remove()
    db.session.scalar(select(func.count()).select_from(User))
    assert status() == "INTRANS"


def test_a_connection_dropped_while_idle_is_replaced_unseen(app, monkeypatch):
    monkeypatch.setattr(pool, "PING_AFTER_IDLE_SECONDS", 0.0)
    first = db.session.scalar(select(func.pg_backend_pid()))
    db.session.remove()  # back to the pool
    killer = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with killer.connect() as conn:
        assert conn.scalar(select(func.pg_terminate_backend(first)))
    killer.dispose()
    second = db.session.scalar(select(func.pg_backend_pid()))  # no error: pinged, replaced
    assert second != first
