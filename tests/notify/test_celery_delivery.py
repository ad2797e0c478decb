"""Notifications with a real Celery worker on the real Redis (not eager mode): every event kind
reaches the in-app inbox, a local SMTP server and a signed webhook; a Redis outage loses
nothing and sends each notification once when Redis is back; a worker killed in the middle
of a delivery is replaced and the delivery arrives once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from lims.domain.notifications import EVENTS, PERSONAL_EVENTS
from lims.extensions import db
from lims.models import Delivery, Equipment, Notification, OutboxEvent, ReagentLot, User
from lims.services.actions import expiry, schedule, treatment, units
from lims.services.admin import sites
from lims.services.audit import adverse_reactions
from lims.services.clinic import outcomes
from lims.services.materials import warnings as materials_warnings
from lims.services.station import shipments
from tests.service.lab import (
    BENCH_EQUIPMENT,
    BENCH_LOTS,
    PASSWORD,
    data_for,
    qc_data,
    registration,
    walk,
)

from .conftest import LEASE_SECONDS, wait_for


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The worker is another process sharing the database: PostgreSQL, as in production."""
    return request.param


@pytest.fixture
def app_config(notify_config) -> dict:
    return notify_config


@pytest.fixture
def people(users) -> dict[str, User]:
    """Every test user with an e-mail address (test set-up, straight into the table)."""
    for user in users.values():
        db.session.execute(
            update(User).where(User.id == user.id).values(email=f"{user.username}@clinic.test")
        )
    db.session.commit()
    return users


def settled() -> bool:
    """Everything in the outbox is relayed and every delivery is sent."""
    db.session.rollback()
    pending_events = db.session.scalar(select(func.count()).where(OutboxEvent.relayed_at.is_(None)))
    unsent = db.session.scalar(select(func.count()).where(Delivery.status != "sent"))
    total = db.session.scalar(select(func.count()).select_from(Delivery))
    return pending_events == 0 and unsent == 0 and total > 0


def register(users, **overrides):
    return units.register(registration("ADIPOSE", **overrides), users["clinician"]).unit


def treated_course(users) -> None:
    """A planned course given, its baseline visit reminded due then overdue, and an adverse
    reaction to the product reported (urgent to QA)."""
    given = walk(register(users, patient={"mrn": "M-6", "name": "Di Treated"}), "dispensed", users)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    session = {"kind": "initial", "product_type": given.unit_type, "planned_at": soon}
    plan = {"indication": "androgenetic_alopecia", "sessions": [session]}
    treatment.create_plan(given.patient_id, plan, users["clinician"])
    data = data_for("administer", unit=given)
    units.perform_action(given.id, "administer", data, users["clinician"])
    outcomes.remind()  # the baseline is due from the first session
    outcomes.remind(datetime.now(UTC).date() + timedelta(days=30))  # and then overdue
    reaction = {
        "onset_at": datetime.now(UTC).isoformat(),
        "description": "redness and swelling at the injection sites",
        "severity": "moderate",
        "relation": "probable",
    }
    adverse_reactions.report(given.id, reaction, users["clinician"])


def make_every_event(users) -> None:
    """One or more of each kind in docs/product.md §8, through the services and the beat jobs."""
    received = register(users)
    units.perform_action(received.id, "receive", data_for("receive"), users["technician"])
    released = walk(
        register(users, patient={"mrn": "M-2", "name": "Jo Released"}), "released", users
    )
    failing = walk(
        register(users, patient={"mrn": "M-3", "name": "Al Failing"}), "quarantine", users
    )
    units.perform_action(failing.id, "record_qc", qc_data("viability", 40.0), users["technician"])
    units.perform_action(
        released.id, "record_qc", qc_data("sterility", "growth"), users["technician"]
    )
    dispensed = walk(
        register(users, patient={"mrn": "M-4", "name": "Bo Dispensed"}), "dispensed", users
    )
    wrong = {**data_for("administer", unit=dispensed), "wristband": failing.patient.wristband}
    with pytest.raises(Exception):  # noqa: B017  (refused: patient mismatch)
        units.perform_action(dispensed.id, "administer", wrong, users["clinician"])
    treated_course(users)
    in_transit = register(users, patient={"mrn": "M-5", "name": "Cy Transit"})
    units.perform_action(in_transit.id, "dispatch", data_for("dispatch"), users["clinician"])
    ship_with_one_missing(users)
    schedule.expiry_warnings()  # the released and dispensed SVF: under 24 h left
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=5), tick=True):
        schedule.transit_checks()
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=30), tick=True):
        expiry.expire_due()
    # The registers: a centrifuge due for calibration tomorrow, a lot that expired yesterday.
    today = datetime.now(UTC).date()
    db.session.execute(
        update(Equipment)
        .where(Equipment.code == BENCH_EQUIPMENT["centrifuge"])
        .values(calibration_valid_until=today + timedelta(days=1))
    )
    db.session.execute(
        update(ReagentLot)
        .where(ReagentLot.code == BENCH_LOTS["diluent"])
        .values(expires_on=today - timedelta(days=1))
    )
    db.session.commit()
    materials_warnings.run_checks()
    db.session.commit()


def ship_with_one_missing(users) -> None:
    """Two collections shipped to a testing laboratory; one arrives."""
    home = sites.first_site()
    lab = sites.register_site(
        {
            "code": "C0009",
            "name": "Testing Lab",
            "address": "9 Lab Road",
            "timezone": "UTC",
            "kind": "testing_lab",
        },
        users["admin"],
    )
    sites.set_memberships(users["technician"].id, [home.id, lab.id], users["admin"])
    shipment = shipments.create(
        {
            "from_site": home.id,
            "to_site": lab.id,
            "container": "box",
            "courier": "van",
            "condition": "refrigerated",
        },
        users["clinician"],
    )
    sent = [register(users, patient={"mrn": f"M-S{i}", "name": "Sy Shipped"}) for i in (1, 2)]
    for unit in sent:
        shipments.add_item(shipment.id, {"unit_id": unit.id}, users["clinician"])
    shipments.dispatch(
        shipment.id, {"checked_by": "tech", "checked_by_password": PASSWORD}, users["clinician"]
    )
    shipments.receive(
        shipment.id,
        {"arrival_temperature_c": 5.0, "scanned": [sent[0].barcode_data], "note": "one short"},
        users["technician"],
    )


def test_every_event_kind_reaches_inbox_email_and_webhook(worker, people, smtp_server, webhook):
    mailbox, _ = smtp_server
    make_every_event(people)

    wait_for(settled, 90, "every delivery to be sent by the worker")

    kinds = set(db.session.scalars(select(OutboxEvent.kind)))
    assert kinds == set(EVENTS)
    inbox_kinds = set(db.session.scalars(select(Notification.event)))
    assert inbox_kinds == set(PERSONAL_EVENTS)  # the others are for the webhook alone
    subjects = [m["Subject"] for m in mailbox.messages]
    assert not [s for s in subjects if "FHIR" in s]
    for kind in PERSONAL_EVENTS.values():
        assert [s for s in subjects if f"] {kind.title}: " in s], kind.title
    hook_kinds = {c["body"]["event"] for c in webhook.calls}
    assert hook_kinds == set(EVENTS)
    assert all(c["signed"] for c in webhook.calls)
    # e-mail and webhooks leave the LIMS: identifiers and a link, never a patient's name
    for name in ("Jo Released", "Di Treated"):  # a unit's events, a course's reminders
        assert not [m for m in mailbox.messages if name in m.as_string()]
        assert not [c for c in webhook.calls if name in str(c["body"])]
    # each delivery exactly once
    keys = db.session.scalars(select(Delivery.idempotency_key)).all()
    emailed = [m["Message-ID"] for m in mailbox.messages]
    assert len(emailed) == len(set(emailed)) == len([k for k in keys if "-email-" in k])
    assert (
        len(webhook.keys())
        == len(set(webhook.keys()))
        == db.session.scalar(select(func.count()).select_from(OutboxEvent))
    )
    html = [m for m in mailbox.messages if m.is_multipart()]
    assert html and all(
        {p.get_content_type() for p in m.walk()} >= {"text/plain", "text/html"} for m in html
    )


def test_a_redis_outage_loses_nothing_and_sends_each_once(worker, people, webhook, redis_plug):
    plug, _ = redis_plug
    burst = [register(people, patient={"mrn": f"B-{i}", "name": f"Burst {i}"}) for i in range(8)]
    plug.cut()  # Redis unreachable for the app and the worker
    for unit in burst:  # every state change commits although Redis is unreachable
        units.perform_action(unit.id, "receive", data_for("receive"), people["technician"])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(OutboxEvent.relayed_at.is_(None))) == 8
    assert all(units.get_unit(u.id).status == "received" for u in burst)

    plug.restore()  # Redis is back; beat's sweep runs
    from lims.worker.tasks import sweep

    sweep.delay()
    wait_for(settled, 90, "the sweep to send the backlog")

    for role in ("technician", "technician2"):
        notes = db.session.scalars(
            select(Notification.unit_id).where(
                Notification.user_id == people[role].id, Notification.event == "unit_received"
            )
        ).all()
        assert sorted(notes) == sorted(u.id for u in burst)  # each once
    assert len(webhook.keys()) == len(set(webhook.keys())) == 8
    sweep.delay()  # running the sweep again sends nothing twice
    wait_for(settled, 30, "the second sweep")
    assert len(webhook.keys()) == 8


def test_a_worker_killed_mid_delivery_is_retried_and_arrives_once(worker, people, webhook):
    webhook.hold_first = threading.Event()
    unit = register(people)
    units.perform_action(unit.id, "receive", data_for("receive"), people["technician"])

    assert webhook.held.wait(60), "the webhook call never started"
    worker.kill()  # dies in the middle of the webhook delivery
    webhook.hold_first.set()
    db.session.rollback()
    stuck = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
    assert stuck.status == "sending"

    worker.start()
    wait_for(
        lambda: (
            db.session.rollback()
            or (db.session.get(Delivery, stuck.id).claimed_at + timedelta(seconds=LEASE_SECONDS))
            < datetime.now(UTC)
        ),
        30,
        "the dead worker's claim to lapse",
    )
    from lims.worker.tasks import sweep

    sweep.delay()
    wait_for(settled, 60, "the retried delivery")

    db.session.rollback()
    delivered = db.session.get(Delivery, stuck.id)
    assert (delivered.status, delivered.attempts) == ("sent", 2)
    assert set(webhook.keys()) == {delivered.idempotency_key}  # one notification, known twice
    for role in ("technician", "technician2"):
        count = db.session.scalar(
            select(func.count()).where(Notification.user_id == people[role].id)
        )
        assert count == 1
