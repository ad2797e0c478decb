"""One run of the ledger checked in a worker process of its own (``ledger_parallel``).

Kept apart and light: a spawned worker imports this module before it can start, and the
models with everything they pull in took it a second; on PostgreSQL the run is read without
them (decision 115).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, create_engine, select

from ...domain.ledger_chain import HASHED_FIELDS, values_hasher

TABLE = "ledger_entries"  # LedgerEntry's table (a test holds the two equal)


@dataclass(frozen=True)
class Run:
    """What one process found in seq ``lo`` … ``hi``."""

    lo: int
    hi: int
    first_seq: int | None
    first_prev: str | None
    checked: int
    last_seq: int
    last_hash: str
    intact: bool


def _rows(conn: Connection, lo: int, hi: int) -> Iterator[Sequence[Any]]:
    """The run's entries as value rows, ``HASHED_FIELDS`` then the stored hash, in seq order.

    On PostgreSQL straight from the driver's server-side cursor: its rows are already the
    values the canonical content is written from (a timestamp comes naive, which is UTC
    here), and SQLAlchemy's row objects around them were a third of a worker's time
    (decision 115). Elsewhere (SQLite stores moments as text) through SQLAlchemy's types."""
    names = (*HASHED_FIELDS, "entry_hash")
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor(name=f"ledger_run_{lo}")  # type: ignore[union-attr]
        cursor.itersize = 5000
        columns = ", ".join(f'"{name}"' for name in names)
        cursor.execute(
            f"SELECT {columns} FROM {TABLE} WHERE seq >= %s AND seq <= %s ORDER BY seq",  # unique
            (lo, hi),
        )
        yield from cursor
        return
    from ...models import LedgerEntry  # the column types read SQLite's text as values

    table = LedgerEntry.__table__
    stmt = (
        select(*[table.c[name] for name in names])
        .where(table.c.seq >= lo, table.c.seq <= hi)
        .order_by(table.c.seq, table.c.id)
    )
    yield from conn.execution_options(yield_per=5000).execute(stmt)


def check_run(url: str, key: bytes, lo: int, hi: int) -> Run:
    """Recompute the entries with ``lo <= seq <= hi`` in seq order (in a worker process): each
    follows on from the one before it and matches its hash; the first is taken as it links."""
    engine = create_engine(url)
    first_seq = first_prev = None
    expected, prev, checked, intact = lo, "", 0, True
    seq_at, prev_at = HASHED_FIELDS.index("seq"), HASHED_FIELDS.index("prev_hash")
    stored_at = len(HASHED_FIELDS)
    hashed, same = values_hasher(key), hmac.compare_digest
    try:
        with engine.connect() as conn:
            for row in _rows(conn, lo, hi):
                seq, prev_hash, stored = row[seq_at], row[prev_at], row[stored_at]
                if first_seq is None:
                    first_seq, first_prev, prev = seq, prev_hash, prev_hash
                if seq != expected or prev_hash != prev or not same(hashed(row), stored):
                    intact = False
                    break
                prev, expected, checked = stored, expected + 1, checked + 1
    finally:
        engine.dispose()
    return Run(lo, hi, first_seq, first_prev, checked, expected - 1, prev, intact)
