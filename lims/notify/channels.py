"""The ways a delivery leaves: the in-app inbox (a row), e-mail over SMTP, a signed webhook.

Each outgoing message is composed inside the delivery's transaction and sent after it ended:
no database lock or open transaction waits on a slow SMTP server or webhook receiver.
E-mail and webhook carry the delivery's idempotency key (Message-ID, Idempotency-Key), so a
receiver can recognise a redelivery after a worker died between sending and recording it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote, unquote, urlsplit

import requests
from flask import current_app

from ..domain.ledger_chain import utc_iso
from ..models.notify import Delivery
from .messages import Message


class ChannelError(Exception):
    """The channel did not take the message; worth retrying."""


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what an error or a log line may say about where a
    webhook goes. A receiver's path, query and sign-in name often carry its secret."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme or '?'}://{host}{port}"


def _without_url(text: str, url: str) -> str:
    """``text`` with the URL and every part of it that could be secret (path, query,
    user and password, raw or percent-encoded) replaced by the URL's origin or ``…``."""
    parts = urlsplit(url)
    secret = {url, parts.path, parts.query, parts.fragment, parts.username, parts.password}
    secret |= {f"{parts.path}?{parts.query}"}
    secret |= {form for s in list(secret) if s for form in (quote(s, safe="/?&="), unquote(s))}
    for part in sorted((s for s in secret if s and s != "/"), key=len, reverse=True):
        text = text.replace(part, origin(url) if part == url else "…")
    return text


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def email_for(delivery: Delivery, message: Message) -> EmailMessage:
    """The e-mail, composed while the delivery's transaction can still read its user."""
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = delivery.user.email
    mail["Subject"] = f"[{delivery.event.urgency.upper()}] {message.title}"
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{delivery.idempotency_key}@{config['MAIL_DOMAIN']}>"
    text = f"{message.body}\n\n{message.link or ''}\n"
    mail.set_content(text)
    link = f'<p><a href="{message.link}">Open the unit</a></p>' if message.link else ""
    mail.add_alternative(f"<p>{message.body}</p>{link}", subtype="html")
    return mail


def send_email(mail: EmailMessage) -> None:
    """Hand a composed e-mail to the SMTP server (reads nothing from the database)."""
    config = current_app.config
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc


@dataclass(frozen=True)
class WebhookCall:
    body: bytes
    headers: dict[str, str]


def webhook_for(delivery: Delivery, message: Message) -> WebhookCall:
    """The signed call, composed while the delivery's transaction can still read its event."""
    event = delivery.event
    call = {
        "id": delivery.idempotency_key,
        "event": event.kind,
        "urgency": event.urgency,
        "unit_id": event.unit_id,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "created_at": utc_iso(event.created_at),
    }
    if event.kind == "fhir_resource":  # the FHIR resource as it stood then (docs/fhir.md)
        call["trigger"] = event.data.get("trigger")
        call["resource"] = event.data.get("resource")
    body = json.dumps(call, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.idempotency_key,
        "X-LIMS-Signature": signature(current_app.config["WEBHOOK_SECRET"], body),
    }
    return WebhookCall(body, headers)


def send_webhook(call: WebhookCall) -> None:
    """Post a composed call to the receiver (reads nothing from the database)."""
    url = current_app.config["WEBHOOK_URL"]
    try:
        response = requests.post(url, data=call.body, headers=call.headers, timeout=15)
    except requests.RequestException as exc:
        raise ChannelError(f"webhook {origin(url)}: {_without_url(str(exc), url)}") from None
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook {origin(url)} answered {response.status_code}")
