"""Sequence numbers that never repeat, even when two registrations race."""

from __future__ import annotations

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import IdentifierSequence


def _upsert(insert) -> Insert:
    """The first number of a scope and year inserts its row, every later one adds one — one
    statement, built once per backend (a statement keeps its cache key)."""
    table = IdentifierSequence.__table__
    return (
        insert(table)
        .values(scope=bindparam("scope"), year=bindparam("year"), last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.year],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )


_TAKE = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def next_value(scope: str, year: int) -> int:
    """Atomically take the next number for ``scope`` and ``year`` (row lock / write lock)."""
    connection = db.session.connection()  # the caller's transaction
    statement = _TAKE[connection.dialect.name]
    return connection.execute(statement, {"scope": scope, "year": year}).scalar_one()
