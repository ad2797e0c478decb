"""Sequence numbers that never repeat, even when two registrations race."""

from __future__ import annotations

from sqlalchemy import Insert, Integer, bindparam, case, text
from sqlalchemy.dialects import postgresql, sqlite

from ..driver import DriverSelect
from ..extensions import db
from ..models import IdentifierSequence

# The first number of a scope and year inserts its row, every later one adds one: one
# statement, the same SQL on PostgreSQL and on SQLite (3.35 and later), written as text because
# SQLAlchemy 2.0 keeps no cache key for its PostgreSQL and SQLite INSERT constructs, which were
# then compiled again on every registration (decision 116).
# Run on the driver (decision 123): a registration holds the row's lock from here to its commit.
_TAKE = DriverSelect(
    text(
        "INSERT INTO identifier_sequences (scope, year, last_value) VALUES (:scope, :year, 1) "
        "ON CONFLICT (scope, year) DO UPDATE "
        "SET last_value = identifier_sequences.last_value + 1 "
        "RETURNING identifier_sequences.last_value"
    ).columns(last_value=Integer)
)


def next_value(scope: str, year: int) -> int:
    """Atomically take the next number for ``scope`` and ``year`` (row lock / write lock), in
    the caller's transaction."""
    ((value,),) = _TAKE.rows({"scope": scope, "year": year})
    return value


def _block(insert) -> Insert:
    """``count`` numbers at once: the scope's row goes up by ``count`` (or starts at it)."""
    table = IdentifierSequence.__table__
    return (
        insert(table)
        .values(scope=bindparam("scope"), year=bindparam("year"), last_value=bindparam("count"))
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.year],
            set_={"last_value": table.c.last_value + bindparam("count")},
        )
        .returning(table.c.last_value)
    )


def _at_least(insert) -> Insert:
    """The scope's row raised to ``value`` when it is below (a number taken elsewhere)."""
    table = IdentifierSequence.__table__
    value = bindparam("value")
    return (
        insert(table)
        .values(scope=bindparam("scope"), year=bindparam("year"), last_value=value)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.year],
            set_={
                "last_value": case((table.c.last_value < value, value), else_=table.c.last_value)
            },
        )
    )


_BLOCK = {"postgresql": _block(postgresql.insert), "sqlite": _block(sqlite.insert)}
_AT_LEAST = {"postgresql": _at_least(postgresql.insert), "sqlite": _at_least(sqlite.insert)}


def take_block(scope: str, year: int, count: int) -> int:
    """Take ``count`` numbers at once (a bulk import); returns the first of them."""
    connection = db.session.connection()
    statement = _BLOCK[connection.dialect.name]
    last = connection.execute(statement, {"scope": scope, "year": year, "count": count})
    return last.scalar_one() - count + 1


def at_least(scope: str, year: int, value: int) -> None:
    """Never hand out ``value`` or below again: an identifier that was assigned elsewhere (an
    imported DIN or location code) now exists."""
    connection = db.session.connection()
    connection.execute(
        _AT_LEAST[connection.dialect.name], {"scope": scope, "year": year, "value": value}
    )
