"""The relay: outbox events → deliveries, one per recipient and channel, each with an
idempotency key. Safe to run concurrently and twice: events are claimed row by row
(SKIP LOCKED on PostgreSQL), and a delivery that exists already is not made again."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ..db import is_postgres, transaction
from ..domain.notifications import EVENTS, PERSONAL_CHANNELS, Channel, may_switch_off
from ..domain.roles import Role
from ..extensions import db
from ..models import Unit, User
from ..models.notify import Delivery, NotificationPreference, OutboxEvent
from ..models.types import utcnow

BATCH = 200


def _active(role: Role) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == role.value, User.active.is_(True)).order_by(User.id)
        )
    )


def _named_clinician(event: OutboxEvent) -> User | None:
    """An event about a patient rather than a unit (an outcome visit due) names the treating
    clinician in its payload."""
    clinician_id = json.loads(event.payload or "{}").get("clinician_id")
    return db.session.get(User, clinician_id) if isinstance(clinician_id, int) else None


def recipients(event: OutboxEvent) -> list[User]:
    """Who the event's audience is, each person once."""
    people: dict[int, User] = {}
    unit = db.session.get(Unit, event.unit_id) if event.unit_id else None
    for audience in EVENTS[event.kind].audience:
        if audience == "lab":
            found = _active(Role.TECHNICIAN)
        elif audience == "qa":
            found = _active(Role.QA)
        else:  # the patient's clinician; when none is known, every clinician
            clinician = unit.patient.clinician if unit is not None else _named_clinician(event)
            found = [clinician] if clinician and clinician.active else _active(Role.CLINICIAN)
        for user in found:
            people.setdefault(user.id, user)
    return list(people.values())


def channels_for(user: User, kind: str) -> list[Channel]:
    """The user's channels for this kind: their choice, except that urgent cannot be off."""
    wanted = list(PERSONAL_CHANNELS)
    if not (user.email and current_app.config.get("MAIL_SERVER")):
        wanted.remove(Channel.EMAIL)
    if not may_switch_off(EVENTS[kind]):
        return wanted
    off = set(
        db.session.scalars(
            select(NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id,
                NotificationPreference.event == kind,
                NotificationPreference.enabled.is_(False),
            )
        )
    )
    return [c for c in wanted if c.value not in off]


def idempotency_key(event_id: int, channel: str, user_id: int | None) -> str:
    return f"lims-{event_id}-{channel}-{user_id or 'hook'}"


def _insert_delivery(event: OutboxEvent, channel: Channel, user_id: int | None) -> None:
    dialect = postgresql if is_postgres() else sqlite
    db.session.execute(
        dialect.insert(Delivery)
        .values(
            event_id=event.id,
            user_id=user_id,
            channel=channel.value,
            idempotency_key=idempotency_key(event.id, channel.value, user_id),
            status="pending",
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def relay_pending(limit: int = BATCH) -> int:
    """Turn up to ``limit`` unrelayed events into deliveries; return how many were relayed."""
    with transaction():
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.relayed_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if is_postgres():
            stmt = stmt.with_for_update(skip_locked=True)
        events = list(db.session.scalars(stmt))
        webhook = bool(current_app.config.get("WEBHOOK_URL"))
        for event in events:
            for user in recipients(event):
                for channel in channels_for(user, event.kind):
                    _insert_delivery(event, channel, user.id)
            if webhook:
                _insert_delivery(event, Channel.WEBHOOK, None)
            event.relayed_at = utcnow()
    return len(events)


def due_deliveries(limit: int = 500) -> list[int]:
    """Deliveries to (re)send now: pending and due, or claimed by a worker that died."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    return list(
        db.session.scalars(
            select(Delivery.id)
            .where(
                or_(
                    (Delivery.status == "pending")
                    & or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                    (Delivery.status == "sending") & (Delivery.claimed_at < now - lease),
                )
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )


def relay_and_deliver() -> None:
    """The embedded mode's whole pipeline, in-process: relay, then deliver what is due."""
    from .deliver import deliver

    while relay_pending():
        pass
    for delivery_id in due_deliveries():
        deliver(delivery_id)
