"""The transaction boundary, what runs after a commit, and backend-specific locking.

This sits below the services and knows nothing of what runs after a commit: a layer above
(``lims.notify`` for the outbox) registers a named hook with :func:`register_after_commit`,
and code inside a transaction asks for it with :func:`after_commit`. A hook runs only when
the transaction that asked for it commits; a rollback forgets the request (decision 56).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from sqlalchemy import ColumnElement, any_, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict, Unavailable
from .driver import DriverSelect
from .extensions import db
from .pool import refuse_writes

log = logging.getLogger(__name__)

HOOKS = "lims.after_commit"  # app.extensions: hook name → callable
REQUESTED = "lims.after_commit"  # session.info: names of hooks this transaction asked for

# PostgreSQL gave up one of two colliding transactions: serialization failure, deadlock.
LOST_RACE_STATES = frozenset({"40001", "40P01"})


def register_after_commit(app: Flask, name: str, hook: Callable[[], None]) -> None:
    """Let transactions of this app ask for ``hook`` (by ``name``) to run once they commit."""
    app.extensions.setdefault(HOOKS, {})[name] = hook


def after_commit(name: str) -> None:
    """Inside a transaction: run the hook called ``name`` once, after it commits."""
    db.session.info.setdefault(REQUESTED, set()).add(name)


@contextmanager
def transaction(*, keep_loaded: bool = False) -> Iterator:
    """Commit on success; on any failure roll back, so nothing is half-written.

    Lost races surface as :class:`Conflict` (HTTP 409): a stale unit version, a unique key
    taken by a concurrent writer, or a busy SQLite database.

    ``keep_loaded``: what the transaction loaded and wrote stays loaded after the commit
    instead of expiring, so the answer built from it (the unit as the action left it) reads
    nothing again. Only for a caller that answers with what it wrote.
    """
    refuse_writes()
    session = db.session
    own = session()
    expire = own.expire_on_commit
    own.expire_on_commit = expire and not keep_loaded
    try:
        yield session
        session.commit()
    except StaleDataError:
        _roll_back(session)
        raise Conflict(
            "the unit was changed by someone else meanwhile; reload and try again",
            code="stale_version",
        ) from None
    except IntegrityError as exc:
        _roll_back(session)
        raise Conflict(
            "a concurrent change collided with this one; reload and try again",
            code="concurrent_change",
        ) from exc
    except OperationalError as exc:
        _roll_back(session)
        if "locked" in str(exc.orig).lower() or _lost_race(exc):
            raise Conflict("the database is busy; try again", code="busy") from exc
        _refuse_if_unavailable(exc)
        raise
    except DBAPIError as exc:
        _roll_back(session)
        _refuse_if_unavailable(exc)
        raise
    except BaseException:
        _roll_back(session)
        raise
    else:
        _run_hooks(session.info.pop(REQUESTED, set()))
    finally:
        own.expire_on_commit = expire


def _roll_back(session) -> None:
    session.info.pop(REQUESTED, None)
    try:
        session.rollback()
    except DBAPIError:  # the connection is gone: the pool replaces it on the next checkout
        log.warning("rollback failed: the database connection was lost", exc_info=True)


# SQLSTATE classes and codes meaning "the database cannot take this now", not "this is wrong":
# connection exceptions, shutdowns, insufficient resources (disk full, too many connections,
# temp_file_limit) and read-only transactions (a standby, or a database set read-only).
UNAVAILABLE_CLASSES = ("08", "53", "57P")
READ_ONLY_STATES = frozenset({"25006"})
SQLITE_UNAVAILABLE = ("disk is full", "readonly database", "disk i/o error", "unable to open")
RETRY_AFTER_SECONDS = 5


def unavailable(exc: DBAPIError) -> Unavailable | None:
    """The database is down, full or read-only: a 503 the user can retry, or None when the
    error says something else (a bug, a constraint) and must not be dressed up as an outage."""
    state = getattr(exc.orig, "sqlstate", None) or ""
    text = str(exc.orig).lower()
    if state in READ_ONLY_STATES or "readonly database" in text:
        message = "the database is read-only at the moment; nothing was changed"
    elif state.startswith("53") or "disk is full" in text:
        message = "the database cannot store more just now (full); nothing was changed"
    elif (
        exc.connection_invalidated
        or state.startswith(UNAVAILABLE_CLASSES)
        or _lost_connection(exc)
        or any(words in text for words in SQLITE_UNAVAILABLE)
    ):
        message = "the database is unavailable; nothing was changed, try again in a moment"
    else:
        return None
    return Unavailable(message, code="database_unavailable", retry_after=RETRY_AFTER_SECONDS)


def _run_hooks(names: set[str]) -> None:
    """The state change has committed: a failing hook is logged, never raised."""
    hooks = current_app.extensions.get(HOOKS, {}) if names else {}
    for name in sorted(names):
        hook = hooks.get(name)
        if hook is None:
            continue
        try:
            hook()
        except Exception:
            log.exception("after-commit hook %r failed", name)


def _refuse_if_unavailable(exc: DBAPIError) -> None:
    down = unavailable(exc)
    if down is not None:
        raise down from exc


def _lost_connection(exc: DBAPIError) -> bool:
    """psycopg's OperationalError without a SQLSTATE: no server answered at all."""
    orig = exc.orig
    return (
        isinstance(exc, OperationalError)
        and type(orig).__module__.startswith("psycopg")
        and getattr(orig, "sqlstate", None) is None
    )


def _lost_race(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in LOST_RACE_STATES


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# run on the driver (decision 123): the ledger's writers queue on it
_LOCK = DriverSelect(select(func.pg_advisory_xact_lock(func.hashtext(bindparam("name")))))


def lock(name: str) -> None:
    """Serialise writers of one kind for the rest of the transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction already
    begins IMMEDIATE (see ``lims.sqlite``), so writers are serialised by the database.
    """
    if is_postgres():
        _LOCK.rows({"name": name})


def among(column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL one array parameter (``= ANY(…)``): the statement's
    text is then the same whatever the number of values, so the driver and the server read it
    once, where an ``IN`` list of 200 ids was a new statement of 200 parameters every time (the
    readiness board's five such reads spent ~5 ms in the driver parsing them). Elsewhere
    SQLAlchemy's ``IN``."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)
