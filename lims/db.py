"""The transaction boundary, what runs after a commit, and backend-specific locking.

This sits below the services and knows nothing of what runs after a commit: a layer above
(``lims.notify`` for the outbox) registers a named hook with :func:`register_after_commit`,
and code inside a transaction asks for it with :func:`after_commit`. A hook runs only when
the transaction that asked for it commits; a rollback forgets the request (decision 56).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict
from .extensions import db

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
def transaction() -> Iterator:
    """Commit on success; on any failure roll back, so nothing is half-written.

    Lost races surface as :class:`Conflict` (HTTP 409): a stale unit version, a unique key
    taken by a concurrent writer, or a busy SQLite database.
    """
    session = db.session
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
        raise
    except BaseException:
        _roll_back(session)
        raise
    else:
        _run_hooks(session.info.pop(REQUESTED, set()))


def _roll_back(session) -> None:
    session.rollback()
    session.info.pop(REQUESTED, None)


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


def _lost_race(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in LOST_RACE_STATES


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock(name: str) -> None:
    """Serialise writers of one kind for the rest of the transaction.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction already
    begins IMMEDIATE (see ``lims.sqlite``), so writers are serialised by the database.
    """
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
