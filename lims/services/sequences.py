"""Sequence numbers that never repeat, even when two registrations race."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import IdentifierSequence


def next_value(scope: str, year: int) -> int:
    """Atomically take the next number for ``scope`` and ``year`` (row lock / write lock), in
    one statement: the first number of a year inserts its row, every later one adds one."""
    session = db.session
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(IdentifierSequence)
    return session.execute(
        insert.values(scope=scope, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[IdentifierSequence.scope, IdentifierSequence.year],
            set_={"last_value": IdentifierSequence.last_value + 1},
        )
        .returning(IdentifierSequence.last_value)
    ).scalar_one()
