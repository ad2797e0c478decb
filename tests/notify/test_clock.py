"""Beat's schedule without a broker (decision 119): the clock thread a process starts with its
first request runs the scheduled checks here, so a product about to expire is warned of and
the warning reaches the inbox with no Celery worker and no Redis."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.domain.notifications import Channel
from lims.extensions import db
from lims.models import Notification
from lims.models.notify import Delivery, OutboxEvent
from lims.services.actions import units
from lims.worker.clock import HERE, clock
from tests.service.lab import registration, walk

from .conftest import wait_for

FAST = {
    "expiry-checks": {"task": "lims.expiry_checks", "schedule": 0.3},
    "notify-sweep": {"task": "lims.sweep", "schedule": 0.3},
}


@pytest.fixture
def app_config():
    return {"EMBEDDED_BEAT": True, "CELERY": {"beat_schedule": FAST, "timezone": "UTC"}}


def test_every_task_beat_runs_has_its_in_process_counterpart():
    from config import celery_config

    scheduled = {e["task"] for e in celery_config("redis://x")["beat_schedule"].values()}
    assert scheduled == set(HERE)


def test_without_a_broker_the_clock_warns_of_expiry_and_the_inbox_has_it(app, client, users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    product_id, clinician_id = product.id, users["clinician"].id
    db.session.commit()
    db.session.remove()  # the clock's thread writes next; this test holds no transaction
    assert clock(app).runs == {}  # made with the app, not started: no request yet

    assert client.get("/login").status_code == 200  # the first request starts it
    db.session.remove()  # the request's transaction (the test's app context) ends here

    def warned() -> list[int]:
        """Who was told (read in a transaction of its own: the clock's thread writes)."""
        try:
            return list(
                db.session.scalars(
                    select(Notification.user_id).where(
                        Notification.unit_id == product_id,
                        Notification.event == "expiry_warning",
                    )
                )
            )
        finally:
            db.session.rollback()

    def all_delivered() -> list[int]:
        """The warned, once every in-app delivery of the warning is sent (the sweep writes
        one recipient's message per transaction, so the inbox fills one by one)."""
        try:
            unsent = db.session.scalar(
                select(func.count(Delivery.id))
                .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
                .where(
                    OutboxEvent.unit_id == product_id,
                    OutboxEvent.kind == "expiry_warning",
                    Delivery.channel == Channel.INAPP,
                    Delivery.status != "sent",
                )
            )
        finally:
            db.session.rollback()
        return warned() if unsent == 0 else []

    found = wait_for(all_delivered, timeout=30, what="the expiry warning in every inbox")
    assert clinician_id in found
    # The round that wrote the warning may not be counted yet (it commits before it counts):
    # two more counted rounds include at least one that started after the warning was written.
    rounds = clock(app).runs.get("lims.expiry_checks", 0)
    wait_for(
        lambda: clock(app).runs.get("lims.expiry_checks", 0) >= rounds + 2,
        timeout=30,
        what="two rounds",
    )
    assert len(warned()) == len(found)  # each warning is written once, however often it runs
