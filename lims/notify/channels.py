"""The ways a delivery leaves: the in-app inbox (a row), e-mail over SMTP, a signed webhook.

E-mail and webhook carry the delivery's idempotency key (Message-ID, Idempotency-Key), so a
receiver can recognise a redelivery after a worker died between sending and recording it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

import requests
from flask import current_app

from ..domain.ledger_chain import utc_iso
from ..models.notify import Delivery
from .messages import Message


class ChannelError(Exception):
    """The channel did not take the message; worth retrying."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_email(delivery: Delivery, message: Message) -> None:
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
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc


def send_webhook(delivery: Delivery, message: Message) -> None:
    config = current_app.config
    event = delivery.event
    body = json.dumps(
        {
            "id": delivery.idempotency_key,
            "event": event.kind,
            "urgency": event.urgency,
            "unit_id": event.unit_id,
            "title": message.title,
            "body": message.body,
            "link": message.link,
            "created_at": utc_iso(event.created_at),
        },
        sort_keys=True,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.idempotency_key,
        "X-LIMS-Signature": signature(config["WEBHOOK_SECRET"], body),
    }
    try:
        response = requests.post(config["WEBHOOK_URL"], data=body, headers=headers, timeout=15)
    except requests.RequestException as exc:
        raise ChannelError(f"webhook: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"webhook answered {response.status_code}")
