"""Connections: a read-only request reads without a transaction of its own, and a pooled
connection is checked only when it has been idle (decision 96).

A request that only reads — a look-up, a scan, a list, the readiness board — needs neither
``BEGIN`` nor ``ROLLBACK``: on PostgreSQL it reads in autocommit (each statement sees the data
as committed when it runs), on SQLite in a deferred transaction, which does not take the write
lock every other transaction here takes first (``lims.sqlite``), so a reader never queues
behind a writer. :func:`read_only` marks such a view; :func:`refuse_writes` keeps the promise
(``lims.db.transaction`` asks it), so a view marked by mistake fails loudly instead of writing
one statement at a time.

PostgreSQL's pooled connections used to be pinged before every use (``pool_pre_ping``): one
round trip per request. Now a connection is pinged when it has been idle in the pool for
``PING_AFTER_IDLE_SECONDS``: one that was just used is known to work, and one a restart or a
firewall dropped meanwhile is found and replaced before it is used, as before. A connection
that fails in use all the same (the server restarted within those seconds) makes the pool
replace every connection it holds, and the request is answered 503 like any outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from .extensions import db

READ_ONLY = "lims_read_only"  # an execution option on the request's connection
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "lims_idle_since"


def read_only(view: Callable) -> Callable:
    """Mark a view that only reads; put it outside the role check, which reads the user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = db.session()  # this request's session
        if session.in_transaction():  # something was read already: as it is
            return view(*args, **kwargs)
        options: dict[str, Any] = {READ_ONLY: True}
        if db.engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        session.connection(execution_options=options)
        try:
            return view(*args, **kwargs)
        finally:
            _end_read(session)

    return wrapper


def _end_read(session: Any) -> None:
    """Give the read-only connection back, keeping what was read loaded (the signed-in user):
    whatever runs after the view in this request reads in a transaction of its own."""
    if not session.in_transaction():
        return
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()  # nothing to commit: it ends the read, without a round trip
    except exc.SQLAlchemyError:
        session.rollback()
    finally:
        session.expire_on_commit = expire


class WriteInReadOnlyView(RuntimeError):
    """A programming error: a view marked read-only began a transaction to write."""


def refuse_writes() -> None:
    session = db.session()
    if session.in_transaction() and session.connection().get_execution_options().get(READ_ONLY):
        raise WriteInReadOnlyView("a view marked read_only may not write")


def configure(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError("the pooled connection is gone") from error
