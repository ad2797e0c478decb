"""Rows that the route × role tables need and no action makes for every role: a message in
a user's inbox, a parked delivery, a finished verification job. Written straight into the
tables (test set-up), shared by the browser and API tables."""

from __future__ import annotations

from lims.extensions import db
from lims.models import Delivery, Job, Notification, OutboxEvent, User


def a_notification(user: User, status: str = "sent") -> tuple[int, int]:
    """An in-app message in the user's inbox: (its delivery's id, the message's id).
    ``status="failed"``: a delivery parked before it reached the inbox (no message, id 0)."""
    event = OutboxEvent(kind="unit_received", urgency="normal", payload="{}")
    db.session.add(event)
    db.session.flush()
    delivery = Delivery(
        event_id=event.id,
        user_id=user.id,
        channel="inapp",
        idempotency_key=f"route-test-{event.id}",
        status=status,
        attempts=1,
    )
    db.session.add(delivery)
    db.session.flush()
    note = None
    if status == "sent":
        note = Notification(
            user_id=user.id,
            delivery_id=delivery.id,
            event="unit_received",
            urgency="normal",
            title="Unit received",
            body="Status: received.",
        )
        db.session.add(note)
    db.session.commit()
    return delivery.id, note.id if note else 0


def a_job(started_by: User) -> int:
    """A ledger verification the user started and a worker finished."""
    verdict = '{"checked": 1, "first_break": null, "head_seq": 1, "intact": true}'
    job = Job(kind="ledger_verify", status="done", total=1, progress=1, result=verdict)
    job.started_by_id = started_by.id
    db.session.add(job)
    db.session.commit()
    return job.id
