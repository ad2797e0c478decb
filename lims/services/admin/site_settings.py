"""What the site's notifications are configured with, for the admin to read: each setting's
value and the environment variable that changes it, with secrets never shown, and each
person's channel choices at a glance.

Read-only by design: these settings come from the environment (``config.py``) and take
effect when the app and its workers restart, so a form here could only pretend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select

from ...domain.notifications import EVENTS, PERSONAL_CHANNELS, may_switch_off
from ...domain.roles import Role
from ...extensions import db
from ...models import NotificationPreference, User

HIDDEN = "set (not shown)"
NOT_SET = "not set"


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    env: str  # the environment variable that sets it
    note: str = ""


@dataclass(frozen=True)
class ChannelState:
    key: str
    name: str
    on: bool
    why: str
    settings: list[Setting]


def safe_url(url: str | None) -> str:
    """A URL to show: a password in it and the query string (often a token) are hidden."""
    if not url:
        return NOT_SET
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "set (not a readable URL)"
    user = (
        f"{parts.username}:•••@"
        if parts.password
        else (f"{parts.username}@" if parts.username else "")
    )
    query = "•••" if parts.query else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, query, ""))


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _hours(values: Any) -> str:
    return ", ".join(f"{h} h" for h in values) if values else NOT_SET


def channels(config: Mapping[str, Any]) -> list[ChannelState]:
    """In-app, e-mail and webhook: on or off, why, and what each is configured with."""
    mail_on = bool(config.get("MAIL_SERVER"))
    hook_on = bool(config.get("WEBHOOK_URL") and config.get("WEBHOOK_SECRET"))
    return [
        ChannelState(
            "inapp",
            "In-app inbox",
            True,
            "always on: every person's inbox and the unread badge",
            [],
        ),
        ChannelState(
            "email",
            "E-mail (SMTP)",
            mail_on,
            "sent to people with an e-mail address"
            if mail_on
            else "off: no mail server is configured",
            [
                Setting("SMTP server", config.get("MAIL_SERVER") or NOT_SET, "MAIL_SERVER"),
                Setting("Port", str(config.get("MAIL_PORT")), "MAIL_PORT"),
                Setting("STARTTLS", _yes(config.get("MAIL_USE_TLS")), "MAIL_USE_TLS", "1 = yes"),
                Setting("Sign-in name", config.get("MAIL_USERNAME") or NOT_SET, "MAIL_USERNAME"),
                Setting(
                    "Password",
                    HIDDEN if config.get("MAIL_PASSWORD") else NOT_SET,
                    "MAIL_PASSWORD",
                ),
                Setting("Sender", str(config.get("MAIL_FROM") or NOT_SET), "MAIL_FROM"),
            ],
        ),
        ChannelState(
            "webhook",
            "Signed webhook",
            hook_on,
            "one JSON POST per event, signed with HMAC-SHA256 (X-LIMS-Signature)"
            if hook_on
            else "off: no webhook URL is configured",
            [
                Setting("URL", safe_url(config.get("WEBHOOK_URL")), "WEBHOOK_URL"),
                Setting(
                    "Signing secret",
                    HIDDEN if config.get("WEBHOOK_SECRET") else NOT_SET,
                    "WEBHOOK_SECRET",
                ),
            ],
        ),
    ]


def delivery(config: Mapping[str, Any]) -> list[Setting]:
    """How notifications are delivered and when the scheduled checks raise them."""
    broker = (config.get("CELERY") or {}).get("broker_url")
    return [
        Setting(
            "Redis (Celery broker)",
            safe_url(broker) if broker else "not configured",
            "REDIS_URL",
            "Celery workers deliver; beat runs the sweep and the checks"
            if broker
            else "delivered in-process after each change; scheduled checks need beat",
        ),
        Setting("Links in messages point to", str(config.get("PUBLIC_URL")), "PUBLIC_URL"),
        Setting(
            "Expiry warnings before expiry",
            _hours(config.get("NOTIFY_EXPIRY_WARNINGS_HOURS")),
            "NOTIFY_EXPIRY_WARNINGS_HOURS",
            "comma-separated hours, e.g. 24,4,1",
        ),
        Setting(
            "Transit overdue after",
            f"{config.get('TRANSIT_OVERDUE_HOURS')} h",
            "TRANSIT_OVERDUE_HOURS",
        ),
        Setting(
            "Delivery attempts before parking",
            str(config.get("NOTIFY_MAX_ATTEMPTS")),
            "NOTIFY_MAX_ATTEMPTS",
        ),
        Setting(
            "First retry after",
            f"{config.get('NOTIFY_BACKOFF_SECONDS')} s, doubling",
            "NOTIFY_BACKOFF_SECONDS",
        ),
    ]


@dataclass(frozen=True)
class PersonChannels:
    """One active person's reach: their address, and the event kinds they switched off."""

    user: User
    inapp_off: list[str]
    email_off: list[str]
    email_note: str  # why e-mail does not reach them at all; "" when it does


def people_channels(config: Mapping[str, Any]) -> list[PersonChannels]:
    """Every active person with their choices, from one read of the preferences."""
    people = list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role != Role.SYSTEM.value)
            .order_by(User.username)
        )
    )
    off: dict[int, dict[str, list[str]]] = {}
    for pref in db.session.scalars(
        select(NotificationPreference)
        .where(NotificationPreference.enabled.is_(False))
        .order_by(NotificationPreference.id)
    ):
        kind = EVENTS.get(pref.event)
        if kind is None or not may_switch_off(kind):
            continue  # urgent kinds go out whatever was stored
        off.setdefault(pref.user_id, {}).setdefault(pref.channel, []).append(kind.title)
    known = {c.value for c in PERSONAL_CHANNELS}
    rows = []
    for user in people:
        mine = {c: sorted(titles) for c, titles in off.get(user.id, {}).items() if c in known}
        if not user.email:
            note = "no e-mail address: in-app only"
        elif not config.get("MAIL_SERVER"):
            note = "this server sends no e-mail"
        else:
            note = ""
        rows.append(PersonChannels(user, mine.get("inapp", []), mine.get("email", []), note))
    return rows
