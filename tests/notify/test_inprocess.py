"""Notifications in the embedded mode (no Redis): each event of docs/product.md §8 written with
its state change reaches the right people's in-app inbox once, right after the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Delivery, Notification, OutboxEvent
from lims.services.actions import units
from tests.service.lab import data_for, qc_data, registration, sign, walk


def inbox(user) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def events(kind: str) -> int:
    return db.session.scalar(select(func.count()).where(OutboxEvent.kind == kind)) or 0


@pytest.mark.req("LIMS-1")
def test_a_received_unit_tells_the_lab(users):
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    units.perform_action(unit.id, "receive", data_for("receive"), users["technician"])
    for tech in ("technician", "technician2"):
        (note,) = inbox(users[tech])
        assert note.event == "unit_received" and note.unit_id == unit.id
        assert note.title.startswith("Unit received: ") and "Pat Example" in note.body
    assert inbox(users["qa"]) == [] and inbox(users["clinician"]) == []


@pytest.mark.req("LIMS-1")
def test_a_release_tells_the_patients_clinician_until_when_it_is_usable(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    (note,) = [n for n in inbox(users["clinician"]) if n.event == "product_released"]
    assert "usable until" in note.body
    ready = [n for n in inbox(users["qa"]) if n.event == "ready_for_review"]
    assert len(ready) == 1  # QC became complete once
    assert product.status == "released"


@pytest.mark.req("LIMS-1")
def test_qc_out_of_spec_tells_qa_and_the_lab(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "quarantine", users
    )
    units.perform_action(product.id, "record_qc", qc_data("viability", 50.0), users["technician"])
    for role in ("qa", "technician"):
        notes = [n for n in inbox(users[role]) if n.event == "qc_out_of_spec"]
        assert len(notes) == 1 and notes[0].urgency == "high"
        assert "Viability 50 %" in notes[0].body


@pytest.mark.req("LIMS-1")
def test_a_refused_action_notifies_nobody(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "quarantine", users
    )
    before = db.session.scalar(select(func.count()).select_from(OutboxEvent))
    with pytest.raises(Exception):  # noqa: B017  (not releasable: no QC)
        units.perform_action(product.id, "release", sign(), users["qa"])
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == before


@pytest.mark.req("F-8", "LIMS-1")
def test_a_bedside_mismatch_is_urgent_for_qa_and_the_clinician(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "dispensed", users
    )
    other = units.register(
        registration("ADIPOSE", patient={"mrn": "MRN-9", "name": "Someone Else"}),
        users["clinician"],
    ).unit
    data = {**data_for("administer", unit=product), "wristband": other.patient.wristband}
    with pytest.raises(Exception):  # noqa: B017  (patient_mismatch)
        units.perform_action(product.id, "administer", data, users["clinician"])
    for role in ("qa", "clinician"):
        notes = [n for n in inbox(users[role]) if n.event == "identity_mismatch"]
        assert len(notes) == 1 and notes[0].urgency == "urgent"


def test_every_delivery_is_sent_once(users):
    walk(units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users)
    statuses = set(db.session.scalars(select(Delivery.status)))
    assert statuses == {"sent"}
    keys = db.session.scalars(select(Delivery.idempotency_key)).all()
    assert len(keys) == len(set(keys))
    assert db.session.scalar(select(func.count()).select_from(Notification)) == len(keys)
