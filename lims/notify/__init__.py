"""Notifications, the adapter the services write to (product §8): an outbox written
with each state change (``outbox.emit``), a relay that turns events into deliveries, the
channels (in-app, e-mail, webhook) and the messages they carry.

What runs them lives above, in ``lims.worker`` (Celery tasks and beat); after a commit the
outbox nudges the worker by task name through ``lims.dispatch``, or, with no broker
configured, relays and delivers in this process.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import outbox

    outbox.init_app(app)
