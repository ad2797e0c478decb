"""The people's side of notifications: each user's in-app inbox, their channel choices,
and (admins) the deliveries that were parked after their last retry.

A user only ever reads and marks their own messages: another user's message is "not
found", exactly like one that does not exist, so ids reveal nothing. Urgent event kinds
cannot be switched off (``domain.notifications.may_switch_off``); the relay ignores such a
choice anyway, and this service refuses to record one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import selectinload

from .. import dispatch
from ..db import transaction
from ..domain.errors import Conflict, Forbidden, Invalid, NotFound
from ..domain.notifications import (
    EVENTS,
    PERSONAL_CHANNELS,
    PERSONAL_EVENTS,
    EventKind,
    Urgency,
    may_switch_off,
)
from ..domain.roles import Role
from ..extensions import db
from ..models import Delivery, Notification, NotificationPreference, OutboxEvent, User
from ..models.types import utcnow
from ..notify.deliver import deliver, retry_failed
from .search import UnitPage

log = logging.getLogger(__name__)

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")
CHANNEL_NAMES = {"inapp": "In-app", "email": "E-mail", "webhook": "Webhook"}


# ---------------------------------------------------------------------------- the inbox


@dataclass(frozen=True)
class Unread:
    """What the badge shows: how many unread, and how many of those are urgent."""

    total: int
    urgent: int


def _mine(user: User):
    return select(Notification).where(Notification.user_id == user.id)


def inbox(user: User, *, unread_only: bool = False, page: int = 1, per_page: int = 50) -> UnitPage:
    """The user's messages, newest first, one page at a time (``UnitPage`` of Notification)."""
    stmt = _mine(user)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return UnitPage(items=list(items), total=total, page=page, per_page=per_page)


def links(items: list[Notification]) -> dict[int, str]:
    """Notification id -> the page of this LIMS a message without a unit points to (its
    event's ``path``, e.g. a patient's treatment for an outcome reminder), in one query."""
    ids = [n.id for n in items if n.unit_id is None]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Notification.id, OutboxEvent.payload)
        .join(Delivery, Delivery.id == Notification.delivery_id)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(Notification.id.in_(ids))
    )
    found = {}
    for notification_id, payload in rows:
        path = json.loads(payload or "{}").get("path")
        if isinstance(path, str) and path.startswith("/") and not path.startswith("//"):
            found[notification_id] = path
    return found


def unread(user: User) -> Unread:
    """One query, on the (user_id, read_at) index: cheap enough for every page."""
    total, urgent = db.session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((Notification.urgency == Urgency.URGENT.value, 1), else_=0)), 0
            ),
        ).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).one()
    return Unread(int(total or 0), int(urgent or 0))


def unread_count(user: User) -> int:
    return unread(user).total


def get_notification(user: User, notification_id: int) -> Notification:
    """The user's own message; anyone else's (or none) is not found."""
    found = db.session.scalar(_mine(user).where(Notification.id == notification_id))
    if found is None:
        raise NotFound(f"no notification {notification_id} in your inbox", code="not_found")
    return found


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's messages read; reading it again keeps the first time."""
    with transaction():
        note = get_notification(user, notification_id)
        if note.read_at is None:
            note.read_at = utcnow()
    return note


def mark_all_read(user: User) -> int:
    """Mark every unread message of the user read; how many were."""
    with transaction():
        changed = db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    return int(changed or 0)


# ---------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class Choice:
    """One cell of the preferences table: an event kind on one channel."""

    kind: EventKind
    channel: str
    enabled: bool
    locked: bool  # urgent: always on

    @property
    def name(self) -> str:
        return f"{self.kind.key}.{self.channel}"


@dataclass(frozen=True)
class Preferences:
    rows: list[tuple[EventKind, list[Choice]]]
    channels: list[str]
    email_notes: list[str]  # why e-mail would not reach this user; empty when it would


def email_notes(user: User) -> list[str]:
    notes = []
    if not current_app.config.get("MAIL_SERVER"):
        notes.append("this server sends no e-mail (no mail server is configured)")
    if not user.email:
        notes.append("your account has no e-mail address")
    return notes


def preferences(user: User) -> Preferences:
    """Every event kind × personal channel with the user's choice (no row means on)."""
    off = {
        (p.event, p.channel)
        for p in db.session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user.id,
                NotificationPreference.enabled.is_(False),
            )
        )
    }
    rows = []
    for kind in PERSONAL_EVENTS.values():
        locked = not may_switch_off(kind)
        cells = [
            Choice(kind, c.value, locked or (kind.key, c.value) not in off, locked)
            for c in PERSONAL_CHANNELS
        ]
        rows.append((kind, cells))
    return Preferences(rows, [c.value for c in PERSONAL_CHANNELS], email_notes(user))


def _check_choices(choices: Mapping[tuple[str, str], bool]) -> None:
    fields: dict[str, str] = {}
    channels = {c.value for c in PERSONAL_CHANNELS}
    for event, channel in choices:
        name = f"{event}.{channel}"
        if event not in PERSONAL_EVENTS:
            fields[name] = "unknown event kind"
        elif channel not in channels:
            fields[name] = "unknown channel (choose in-app or e-mail)"
        elif not choices[(event, channel)] and not may_switch_off(EVENTS[event]):
            fields[name] = "urgent: cannot be switched off"
    if fields:
        urgent = any(v.startswith("urgent") for v in fields.values())
        raise Invalid(
            "urgent notifications cannot be switched off"
            if urgent
            else "unknown event kind or channel",
            code="urgent_always_on" if urgent else "invalid_fields",
            fields=fields,
        )


def save_preferences(user: User, choices: Mapping[tuple[str, str], bool]) -> Preferences:
    """Record the user's choice for each (event kind, channel) given; others stay as they are.

    Switching an urgent kind off is refused and nothing is saved.
    """
    _check_choices(choices)
    with transaction():
        existing = {
            (p.event, p.channel): p
            for p in db.session.scalars(
                select(NotificationPreference).where(NotificationPreference.user_id == user.id)
            )
        }
        for (event, channel), enabled in choices.items():
            row = existing.get((event, channel))
            if row is None:
                db.session.add(
                    NotificationPreference(
                        user_id=user.id, event=event, channel=channel, enabled=bool(enabled)
                    )
                )
            else:
                row.enabled = bool(enabled)
    return preferences(user)


# ---------------------------------------------------------------------------- admins: deliveries


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN.value:
        raise Forbidden("only an administrator sees and retries deliveries", code="forbidden")


def delivery_counts(admin: User) -> dict[str, int]:
    """How many deliveries are in each status (every status named, zero included)."""
    _require_admin(admin)
    counts = dict(
        db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    return {status: int(counts.pop(status, 0)) for status in DELIVERY_STATUSES} | counts


def failed_deliveries(admin: User, limit: int = 200) -> list[Delivery]:
    """Parked deliveries, most recent first, with their event and recipient."""
    _require_admin(admin)
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.status == "failed")
            .options(selectinload(Delivery.event), selectinload(Delivery.user))
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Retry:
    """What became of an admin's retry: ``sent``, ``queued`` (a worker will send it),
    ``deferred`` (Redis unreachable: the sweep sends it), or the delivery's new status."""

    delivery_id: int
    outcome: str
    status: str
    last_error: str | None


def retry_delivery(admin: User, delivery_id: int) -> Retry:
    """Put a parked delivery back to pending, then hand it to a worker (or send it now).

    With Redis down the beat sweep picks it up later (it is pending and due), so the
    admin's retry is never lost."""
    _require_admin(admin)
    if db.session.get(Delivery, delivery_id) is None:
        raise NotFound(f"no delivery {delivery_id}", code="not_found")
    if not retry_failed(delivery_id):  # its own transaction
        raise Conflict(
            f"delivery {delivery_id} is not parked as failed (already retried or sent)",
            code="not_failed",
        )
    sent = dispatch.enqueue("lims.deliver", delivery_id, here=lambda: deliver(delivery_id).status)
    outcome = sent.result if sent.how == "here" else sent.how
    db.session.expire_all()
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery is not None
    return Retry(delivery_id, outcome, delivery.status, delivery.last_error)
