"""Sending one delivery, exactly once per recipient and channel.

A delivery is claimed first (pending → sending, one UPDATE that only one worker can win);
an in-app message is written in the same transaction that marks it sent, so it can never be
written twice. A claim whose worker died is taken again after ``NOTIFY_LEASE_SECONDS``.
Failures wait with exponential back-off; after ``NOTIFY_MAX_ATTEMPTS`` the delivery is
parked as failed, for an admin to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from flask import current_app
from sqlalchemy import or_, update

from ..db import transaction
from ..domain.notifications import Channel, backoff_seconds
from ..extensions import db
from ..models.notify import Delivery, Notification
from ..models.types import utcnow
from .channels import ChannelError, email_for, send_email, send_webhook, webhook_for
from .messages import message_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: str  # sent, retry, failed, skipped
    retry_in: float | None = None


def _claim(delivery_id: int) -> bool:
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    with transaction():
        claimed = db.session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                or_(
                    Delivery.status == "pending",
                    (Delivery.status == "sending") & (Delivery.claimed_at < now - lease),
                ),
            )
            .values(status="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        ).rowcount
    return claimed == 1


def _delivery(delivery_id: int) -> Delivery:
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery is not None  # claimed above: deliveries are never deleted
    return delivery


def _mark_sent(delivery: Delivery) -> None:
    delivery.status = "sent"
    delivery.sent_at = utcnow()
    delivery.last_error = None


def deliver(delivery_id: int) -> Outcome:
    if not _claim(delivery_id):
        return Outcome("skipped")  # sent already, or another worker holds it
    delivery = _delivery(delivery_id)
    try:
        if delivery.channel == Channel.INAPP:
            message = message_for(delivery.event, leaves_the_lims=False)
            with transaction():
                db.session.add(
                    Notification(
                        user_id=delivery.user_id,
                        delivery_id=delivery.id,
                        event=delivery.event.kind,
                        urgency=delivery.event.urgency,
                        unit_id=delivery.event.unit_id,
                        title=message.title[:200],
                        body=message.body,
                        created_at=utcnow(),
                    )
                )
                _mark_sent(delivery)
            return Outcome("sent")
        message = message_for(delivery.event, leaves_the_lims=True)
        if delivery.channel == Channel.EMAIL:
            send = partial(send_email, email_for(delivery, message))
        else:
            send = partial(send_webhook, webhook_for(delivery, message))
        # The read ends before the peer is called: on SQLite its transaction holds the write
        # lock (BEGIN IMMEDIATE), on PostgreSQL a connection would sit idle in a transaction.
        db.session.commit()
        send()
        with transaction():
            _mark_sent(_delivery(delivery_id))
        return Outcome("sent")
    except ChannelError as exc:
        return _failed(delivery_id, str(exc))


def _failed(delivery_id: int, error: str) -> Outcome:
    db.session.rollback()
    with transaction():
        delivery = _delivery(delivery_id)
        delivery.last_error = error[:2000]
        if delivery.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
            delivery.status = "failed"
            log.error(
                "delivery %s parked after %s attempts: %s", delivery_id, delivery.attempts, error
            )
            return Outcome("failed")
        wait = backoff_seconds(delivery.attempts, current_app.config["NOTIFY_BACKOFF_SECONDS"])
        delivery.status = "pending"
        delivery.next_attempt_at = utcnow() + timedelta(seconds=wait)
    return Outcome("retry", wait)


def retry_failed(delivery_id: int) -> bool:
    """An admin sends a parked delivery again: back to pending, attempts from zero."""
    with transaction():
        changed = db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=None, claimed_at=None)
        ).rowcount
    return changed == 1
