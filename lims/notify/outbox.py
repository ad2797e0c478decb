"""Writing events into the outbox, inside the caller's transaction, and what happens after
commit: a nudge to the Celery relay, or in-process delivery when no Redis is configured."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, has_request_context
from sqlalchemy import select

from .. import dispatch
from ..db import after_commit, register_after_commit
from ..domain.notifications import event_kind
from ..extensions import db
from ..models.notify import OutboxEvent
from ..models.types import utcnow
from .courier import courier
from .relay import relay_and_deliver

HOOK = "outbox"


def emit(
    kind: str,
    unit: Any = None,
    *,
    dedupe_key: str | None = None,
    **payload: Any,
) -> OutboxEvent | None:
    """Add an event to the current transaction; it is sent only if the transaction commits.

    An event with a ``dedupe_key`` already in the outbox is not written again (None).
    """
    spec = event_kind(kind)
    if dedupe_key is not None and db.session.scalar(
        select(OutboxEvent.id).where(OutboxEvent.dedupe_key == dedupe_key)
    ):
        return None
    event = OutboxEvent(
        kind=spec.key,
        urgency=spec.urgency.value,
        unit_id=unit.id if unit is not None else None,
        dedupe_key=dedupe_key,
        payload=json.dumps(payload, sort_keys=True, default=str),
        created_at=utcnow(),
    )
    db.session.add(event)
    after_commit(HOOK)
    return event


def init_app(app: Flask) -> None:
    """Transactions that wrote events hand them on once they commit."""
    register_after_commit(app, HOOK, hand_on)


def hand_on() -> None:
    """After a commit that wrote events: nudge the Celery relay, or (no broker) deliver here.

    With Redis down the events wait in the outbox for beat's sweep: nothing is lost.
    """
    config = current_app.config
    here = None
    if config.get("NOTIFY_INLINE", True):
        here = relay_and_deliver
        # after the response (decision 91); a command or a script delivers before it exits
        if config.get("NOTIFY_IN_BACKGROUND") and has_request_context():
            here = courier(current_app._get_current_object()).nudge
    dispatch.enqueue("lims.relay_outbox", here=here)
