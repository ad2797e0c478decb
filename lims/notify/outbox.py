"""Writing events into the outbox, inside the caller's transaction, and what happens after
commit: a nudge to the Celery relay, or in-process delivery when no Redis is configured."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..db import OUTBOX_FLAG
from ..domain.notifications import event_kind
from ..extensions import db
from ..models.notify import OutboxEvent
from ..models.types import utcnow

log = logging.getLogger(__name__)
PENDING_FLAG = OUTBOX_FLAG


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
    db.session.info[PENDING_FLAG] = True
    return event


def after_commit() -> None:
    """Called by ``services.db.transaction`` after a commit that wrote outbox events.

    Never raises: the state change has committed; a lost nudge is picked up by the sweep.
    """
    if not db.session.info.pop(PENDING_FLAG, False):
        return
    try:
        if current_app.config.get("CELERY", {}).get("broker_url"):
            from .tasks import relay_outbox

            relay_outbox.apply_async(retry=False)
        elif current_app.config.get("NOTIFY_INLINE", True):
            from .relay import relay_and_deliver

            relay_and_deliver()
    except Exception as exc:  # Redis down, a channel failing: the sweep retries later
        log.warning("notification dispatch deferred to the sweep: %s", exc)
