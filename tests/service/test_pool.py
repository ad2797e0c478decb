"""Connections (decision 96): a view that only reads takes no transaction of its own on
PostgreSQL and no write lock on SQLite, may not write, and a pooled connection the server
dropped while it was idle is replaced before anyone uses it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from lims import pool
from lims.db import transaction
from lims.extensions import db
from lims.models import Location, User
from lims.services import access


@pool.read_only
def _count_users_then(then):
    db.session.scalar(select(func.count()).select_from(User))
    return then()


def _other_writer_gets_in(app) -> bool:
    """Can another connection write while this session has read?"""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=100")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("SET lock_timeout = '100ms'")
                conn.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            conn.rollback()
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def test_a_read_only_view_holds_no_lock_a_writer_waits_for(app):
    assert _count_users_then(lambda: _other_writer_gets_in(app))
    db.session.remove()
    # the usual transaction, for contrast: on SQLite it takes the write lock when it begins;
    # on PostgreSQL a read holds its table's share lock until the transaction ends
    db.session.scalar(select(func.count()).select_from(User))
    assert not _other_writer_gets_in(app)


def test_a_read_only_view_that_writes_fails_and_writes_nothing(app):
    def write():
        with transaction():
            db.session.add(Location(code="LOC-RO", name="Bench", kind="bench"))

    with pytest.raises(pool.WriteInReadOnlyView):
        _count_users_then(write)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Location)) == 0


def test_a_unit_shown_with_its_children_lists_a_product_made_after(app, users, register, act):
    """The children's ids read with the unit (decision 96) do not outlive a new product."""
    source = register("ADIPOSE")
    act(source, "receive")
    act(source, "start_processing")
    shown = access.require_unit(users["qa"], source.id, to_show=True)
    assert shown.child_ids == []
    product = act(source, "complete_processing").products[0]
    assert access.require_unit(users["qa"], source.id, to_show=True).child_ids == [product.id]


def test_after_a_read_only_view_the_session_writes_as_usual(app):
    """Tests (and anything after the view in a request) share the session: the read-only
    connection goes back when the view ends, and the next transaction may write."""
    _count_users_then(lambda: None)
    with transaction():
        db.session.add(Location(code="LOC-RW", name="Bench", kind="bench"))
    assert db.session.scalar(select(func.count()).select_from(Location)) == 1
