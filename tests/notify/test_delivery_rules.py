"""Delivery rules without a worker (the in-process mode, both backends): back-off and
parking after the last attempt, an admin's retry, a claim only one sender wins, scheduled
checks that are safe to run twice, preferences, and urgent events that cannot be muted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from lims.domain.notifications import backoff_seconds
from lims.extensions import db
from lims.models import Delivery, NotificationPreference, OutboxEvent
from lims.notify import deliver, relay
from lims.services.actions import schedule, units
from tests.service.lab import data_for, registration, walk

from .conftest import free_port


@pytest.fixture
def app_config() -> dict:
    """A webhook nobody answers: every webhook delivery fails."""
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook",
        "WEBHOOK_SECRET": "s3cret",
        "NOTIFY_MAX_ATTEMPTS": 3,
    }


def received(users):
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    units.perform_action(unit.id, "receive", data_for("receive"), users["technician"])
    return unit


def hook_delivery() -> Delivery:
    db.session.rollback()
    return db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()


def test_a_failing_channel_backs_off_then_parks_and_an_admin_retries(users):
    received(users)  # in-process: in-app sent, the webhook's first attempt failed
    first = hook_delivery()
    assert (first.status, first.attempts) == ("pending", 1)
    assert "webhook" in first.last_error
    assert first.next_attempt_at > datetime.now(UTC)
    assert relay.due_deliveries() == []  # not before its back-off

    for attempt in (2, 3):
        later = datetime.now(UTC) + timedelta(hours=2 * attempt)  # past each back-off
        with time_machine.travel(later, tick=False):
            assert relay.due_deliveries() == [first.id]
            outcome = deliver.deliver(first.id)
        assert outcome.status == ("retry" if attempt < 3 else "failed")
    parked = hook_delivery()
    assert (parked.status, parked.attempts) == ("failed", 3)

    assert deliver.retry_failed(parked.id)
    assert hook_delivery().status == "pending" and hook_delivery().attempts == 0
    assert not deliver.retry_failed(parked.id)  # only a parked delivery is retried


def test_backoff_doubles_up_to_an_hour():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_seconds(30) == 3600


def test_a_delivery_is_claimed_by_one_sender_only(users):
    received(users)
    hook = hook_delivery()
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=False):
        assert deliver._claim(hook.id)
        assert not deliver._claim(hook.id)  # a second worker gets nothing
    sent = db.session.scalars(select(Delivery).where(Delivery.channel == "inapp")).all()
    assert sent and all(d.status == "sent" for d in sent)
    assert all(deliver.deliver(d.id).status == "skipped" for d in sent)


@pytest.mark.req("F-4")
def test_expiry_warnings_and_transit_checks_are_safe_to_run_twice(users):
    walk(units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users)
    transit = units.register(
        registration("ADIPOSE", patient={"mrn": "M-2", "name": "In Transit"}), users["clinician"]
    ).unit
    units.perform_action(transit.id, "dispatch", data_for("dispatch"), users["clinician"])
    assert schedule.expiry_warnings() >= 1
    assert schedule.expiry_warnings() == 0
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=4), tick=False):
        assert schedule.transit_checks() == 1
        assert schedule.transit_checks() == 0
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=23, minutes=30), tick=False):
        assert schedule.expiry_warnings() >= 1  # under 1 h now: the next threshold
        assert schedule.expiry_warnings() == 0
    hours = set(
        db.session.scalars(select(OutboxEvent.payload).where(OutboxEvent.kind == "expiry_warning"))
    )
    assert any('"hours": 1' in p for p in hours) and any('"hours": 24' in p for p in hours)


def _off(user, event: str, channel: str) -> None:
    db.session.add(
        NotificationPreference(user_id=user.id, event=event, channel=channel, enabled=False)
    )
    db.session.commit()


def test_a_user_may_switch_off_a_normal_event(users):
    _off(users["technician"], "unit_received", "inapp")
    received(users)
    inapp = db.session.scalars(select(Delivery.user_id).where(Delivery.channel == "inapp")).all()
    assert users["technician"].id not in inapp and users["technician2"].id in inapp


def test_urgent_events_cannot_be_switched_off(users):
    _off(users["qa"], "identity_mismatch", "inapp")
    dispensed = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "dispensed", users
    )
    other = units.register(
        registration("ADIPOSE", patient={"mrn": "M-9", "name": "Someone Else"}), users["clinician"]
    ).unit
    data = {**data_for("administer", unit=dispensed), "wristband": other.patient.wristband}
    with pytest.raises(Exception):  # noqa: B017  (refused: mismatch)
        units.perform_action(dispensed.id, "administer", data, users["clinician"])
    to_qa = db.session.scalar(
        select(func.count())
        .select_from(Delivery)
        .join(OutboxEvent)
        .where(
            OutboxEvent.kind == "identity_mismatch",
            Delivery.user_id == users["qa"].id,
            Delivery.channel == "inapp",
        )
    )
    assert to_qa == 1


def test_an_inactive_user_is_not_told(users):
    db.session.execute(
        update(type(users["technician2"]))
        .where(type(users["technician2"]).id == users["technician2"].id)
        .values(active=False)
    )
    db.session.commit()
    received(users)
    recipients = set(
        db.session.scalars(select(Delivery.user_id).where(Delivery.channel == "inapp"))
    )
    assert users["technician2"].id not in recipients and users["technician"].id in recipients


def test_the_sweep_runs_in_the_app_with_nothing_due(users):
    """Beat's sweep as the worker runs it (inside the app): stalled jobs, then the relay."""
    from lims.worker.tasks import sweep

    received(users)  # the webhook is due only after its back-off: nothing to enqueue now
    assert sweep.run() == 0  # every event was relayed already
