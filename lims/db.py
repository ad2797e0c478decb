"""The transaction boundary and backend-specific locking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict
from .extensions import db


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
        session.rollback()
        session.info.pop(OUTBOX_FLAG, None)
        raise Conflict(
            "the unit was changed by someone else meanwhile; reload and try again",
            code="stale_version",
        ) from None
    except IntegrityError as exc:
        session.rollback()
        session.info.pop(OUTBOX_FLAG, None)
        raise Conflict(
            "a concurrent change collided with this one; reload and try again",
            code="concurrent_change",
        ) from exc
    except OperationalError as exc:
        session.rollback()
        session.info.pop(OUTBOX_FLAG, None)
        if "locked" in str(exc.orig).lower() or _lost_race(exc):
            raise Conflict("the database is busy; try again", code="busy") from exc
        raise
    except BaseException:
        session.rollback()
        session.info.pop(OUTBOX_FLAG, None)
        raise
    else:
        from .notify.outbox import after_commit

        after_commit()  # notifications written in this transaction go out now


OUTBOX_FLAG = "lims.outbox"


# PostgreSQL gave up one of two colliding transactions: serialization failure, deadlock.
LOST_RACE_STATES = frozenset({"40001", "40P01"})


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
