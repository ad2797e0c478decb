"""SQLite, the embedded default: foreign keys on, WAL, and IMMEDIATE transactions.

pysqlite's own transaction handling starts transactions late and lazily; we take it over
(the SQLAlchemy documented recipe) so that each transaction takes the write lock when it
begins. Writers then queue (busy_timeout) instead of failing half-way. A request that only
reads begins a deferred transaction (``lims.pool.read_only``, decision 96).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .pool import READ_ONLY


def configure(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        # a view that only reads (``lims.pool.read_only``) takes no write lock
        deferred = conn.get_execution_options().get(READ_ONLY)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
