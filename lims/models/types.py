"""Column types shared by the models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every backend; always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; times are UTC-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The demo seed replays weeks of lab history through the services; while it does, "now" is
# the moment being replayed (``clock_at``). Nothing else sets it: requests always see the
# real clock.
_replayed_now: ContextVar[datetime | None] = ContextVar("lims_replayed_now", default=None)


def utcnow() -> datetime:
    replayed = _replayed_now.get()
    return replayed if replayed is not None else datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[datetime]:
    """Run the enclosed code as if it were ``moment`` (an aware datetime): demo history only."""
    if moment.tzinfo is None:
        raise ValueError("clock_at needs an aware datetime")
    token = _replayed_now.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _replayed_now.reset(token)
