"""Shipments between sites (decision 102), on both backends: packing by scan, the two-person
dispatch, each unit's custody through the ledger citing the shipment, the receipt scan with
its outcomes (accepted, missing, damaged, unexpected), the deviations and QA's notification,
products travelling back to the clinic, and the overdue shipment."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lims.domain import codes
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import Deviation, LedgerEntry, OutboxEvent, Unit, User
from lims.services.actions import schedule, units
from lims.services.admin import accounts, sites
from lims.services.station import shipments
from tests.sites import CLINIC

from .lab import PASSWORD, walk


@pytest.fixture
def net(users):
    """The lab (the installation's site) and a clinic: the clinicians belong to the clinic,
    the technicians to the lab."""
    admin = users["admin"]
    (lab,) = sites.list_sites()
    clinic = sites.register_site(CLINIC, admin)
    nurse = accounts.create_user("nurse", "clinician", PASSWORD, full_name="Second Clinician")
    for person in (users["clinician"], nurse):
        sites.set_memberships(person.id, [clinic.id], admin)
    return {"lab": lab, "clinic": clinic, "nurse": nurse}


def new_shipment(net, actor, **overrides):
    data = {
        "from_site": net["clinic"].id,
        "to_site": net["lab"].id,
        "container": "Insulated box 12 L",
        "courier": "MedCourier",
        "tracking_number": "MC-1234",
        "condition": "refrigerated",
        "logger_id": "TL-77",
    }
    data.update(overrides)
    return shipments.create(data, actor)


def checked(by: str = "nurse", **more):
    return {"checked_by": by, "checked_by_password": PASSWORD, **more}


def entries(action: str) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == action).order_by(LedgerEntry.seq)
        )
    )


def packed(net, users, register, count: int = 5):
    doctor = users["clinician"]
    shipment = new_shipment(net, doctor)
    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Pat {i}") for i in range(count)]
    for unit in made:
        shipments.add_item(shipment.id, {"code": unit.barcode_data}, doctor)
    return shipment, made


@pytest.mark.req("F-4")
def test_five_units_travel_to_the_lab_and_one_is_missing_on_arrival(net, users, register):
    doctor, tech = users["clinician"], users["technician"]
    shipment, made = packed(net, users, register)
    assert shipment.code.startswith("SHC0002") and len(shipment.code) == 15

    sent = shipments.dispatch(shipment.id, checked(), doctor)
    assert sent.status == "dispatched" and sent.packed_by_id == doctor.id
    assert sent.checked_by_id == net["nurse"].id
    for unit in made:
        db.session.refresh(unit)
        assert unit.status == "in_transit" and unit.custodian_id is None
    dispatches = entries("dispatch")
    assert len(dispatches) == 5
    assert all(json.loads(e.data)["shipment"]["code"] == shipment.code for e in dispatches)
    (record,) = entries("shipment_dispatched")
    data = json.loads(record.data)
    assert data["checked_by"]["name"] == "Second Clinician"
    assert [m["unit_id"] for m in data["manifest"]] == [u.id for u in made]

    # on its way, a unit is received with its shipment, not alone (by a technician who works
    # at the clinic too: the lab's own do not see the clinic's units)
    clinic_tech = users["technician2"]
    sites.set_memberships(clinic_tech.id, [net["clinic"].id], users["admin"])
    with pytest.raises(Conflict, match=shipment.code) as refused:
        units.perform_action(made[0].id, "receive", {}, clinic_tech)
    assert refused.value.code == "in_shipment"

    scans = [u.barcode_data for u in made[:4]]
    with pytest.raises(Invalid, match="missing") as no_note:
        shipments.receive(shipment.id, {"arrival_temperature_c": 5.0, "scanned": scans}, tech)
    assert no_note.value.code == "note_required"
    assert shipments.get(shipment.id, tech).status == "dispatched"  # nothing changed

    got = shipments.receive(
        shipment.id,
        {"arrival_temperature_c": 5.0, "scanned": scans, "note": "courier called"},
        tech,
    )
    assert got.status == "received" and got.discrepancies == 1
    outcomes = {item.unit_id: item.outcome for item in got.items}
    assert outcomes == {**{u.id: "accepted" for u in made[:4]}, made[4].id: "missing"}
    for unit in made[:4]:
        db.session.refresh(unit)
        assert unit.status == "received" and unit.custodian_id == tech.id
    db.session.refresh(made[4])
    assert made[4].status == "in_transit" and made[4].custodian_id is None
    receipts = entries("receive")
    assert len(receipts) == 4
    assert {json.loads(e.data)["shipment"]["id"] for e in receipts} == {shipment.id}

    (deviation,) = db.session.scalars(select(Deviation))
    assert (deviation.unit_id, deviation.kind) == (made[4].id, "shipment_discrepancy")
    assert deviation.shipment_id == shipment.id and "missing" in deviation.description
    (told,) = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == "shipment_discrepancy")
    )
    assert shipment.code in told.data["subject"] and "missing" in told.data["message"]
    (summary,) = entries("shipment_received")
    assert [m["unit_id"] for m in json.loads(summary.data)["missing"]] == [made[4].id]
    assert len(entries("shipment_missing")) == 1

    # the missing unit is still the clinic's: the lab does not see it; found at the clinic,
    # a technician working there receives it on its own
    receipt = {"temperature_c": 5.0, "container_intact": True, "volume_ml": 250}
    with pytest.raises(NotFound):
        units.perform_action(made[4].id, "receive", receipt, tech)
    found = units.perform_action(made[4].id, "receive", receipt, clinic_tech)
    assert found.unit.status == "received" and found.unit.site_id == net["clinic"].id
    for unit in made[:4]:
        assert unit.site_id == net["lab"].id  # received: the lab's now


def test_dispatch_takes_two_people_who_are_not_the_same(net, users, register):
    doctor = users["clinician"]
    shipment, _made = packed(net, users, register, count=1)
    with pytest.raises(Invalid) as same:
        shipments.dispatch(shipment.id, checked("doctor"), doctor)
    assert same.value.code == "same_person"
    with pytest.raises(Invalid) as wrong:
        shipments.dispatch(
            shipment.id, {"checked_by": "nurse", "checked_by_password": "nope"}, doctor
        )
    assert wrong.value.code == "wrong_password" and "checked_by_password" in wrong.value.fields
    with pytest.raises(Invalid) as unknown:
        shipments.dispatch(shipment.id, checked("nobody"), doctor)
    assert unknown.value.code == "unknown_checker"
    assert shipments.get(shipment.id, doctor).status == "preparing"
    assert entries("dispatch") == []


def test_only_the_sites_people_pack_and_receive(net, users, register):
    tech, doctor = users["technician"], users["clinician"]
    with pytest.raises(Forbidden) as outsider:
        new_shipment(net, tech)  # the technician belongs to the lab, not the clinic
    assert outsider.value.code == "not_a_member"
    with pytest.raises(Forbidden):
        new_shipment(net, users["qa"])
    shipment, _made = packed(net, users, register, count=1)
    shipments.dispatch(shipment.id, checked(), doctor)
    with pytest.raises(Forbidden) as not_there:
        shipments.receive(
            shipment.id, {"arrival_temperature_c": 5.0, "scanned": ["x"]}, users["clinician"]
        )
    assert not_there.value.code == "not_a_member"
    # a technician of a site that is neither end does not even see it
    elsewhere = sites.register_site({**CLINIC, "code": "C0003", "name": "South"}, users["admin"])
    sites.set_memberships(users["technician2"].id, [elsewhere.id], users["admin"])
    with pytest.raises(NotFound):
        shipments.get(shipment.id, users["technician2"])
    assert shipments.get(shipment.id, users["qa"]).id == shipment.id


def test_packing_refuses_what_cannot_travel(net, users, register):
    doctor = users["clinician"]
    shipment, (unit,) = packed(net, users, register, count=1)
    with pytest.raises(Conflict) as twice:
        shipments.add_item(shipment.id, {"code": unit.barcode_data}, doctor)
    assert twice.value.code == "already_packed"
    other = new_shipment(net, doctor)
    with pytest.raises(Conflict) as elsewhere:
        shipments.add_item(other.id, {"unit_id": unit.id}, doctor)
    assert elsewhere.value.code == "in_other_shipment"
    with pytest.raises(Invalid) as bad_check:
        shipments.add_item(other.id, {"code": unit.barcode_data[:-1] + "0"}, doctor)
    assert bad_check.value.fields and "code" in bad_check.value.fields
    with pytest.raises(Invalid) as both:
        shipments.add_item(other.id, {"code": unit.barcode_data, "unit_id": unit.id}, doctor)
    assert both.value.code == "code_or_unit"
    # a unit received at the lab is not shipped (it is processed where it is)
    received = register("BLOOD", mrn="MRN-9")
    sites.set_memberships(users["technician2"].id, [net["clinic"].id], users["admin"])
    units.perform_action(
        received.id,
        "receive",
        {"temperature_c": 21.0, "container_intact": True, "volume_ml": 60},
        users["technician2"],
    )
    with pytest.raises(Conflict) as processing:
        shipments.add_item(other.id, {"unit_id": received.id}, doctor)
    assert processing.value.code == "not_shippable"
    # an item taken out again is free for another shipment
    (item,) = shipments.get(shipment.id, doctor).items
    shipments.remove_item(shipment.id, item.id, doctor)
    shipments.add_item(other.id, {"unit_id": unit.id}, doctor)
    assert [e.action for e in entries("shipment_item_removed")] == ["shipment_item_removed"]


def test_a_released_product_goes_back_to_the_clinic_keeping_its_status(net, users, register):
    tech, admin = users["technician"], users["admin"]
    sites.set_memberships(users["technician2"].id, [net["lab"].id, net["clinic"].id], admin)
    source = register("ADIPOSE", as_="technician")  # collected at the lab (its only site)
    product = walk(source, "released", users)
    back = new_shipment(
        net, tech, from_site=net["lab"].id, to_site=net["clinic"].id, condition="ambient"
    )
    code = codes.unit_datamatrix_data(product.barcode_data, product.product_code, product.division)
    shipments.add_item(back.id, {"code": code}, tech)
    shipments.dispatch(back.id, checked("tech2"), tech)
    db.session.refresh(product)
    assert product.status == "released" and product.custodian_id is None
    (ship,) = entries("ship")
    assert ship.unit_id == product.id and ship.to_custodian_id is None
    with pytest.raises(Conflict) as held:
        units.perform_action(product.id, "dispense", {}, tech)
    assert held.value.code == "in_shipment"

    got = shipments.receive(
        back.id, {"arrival_temperature_c": 20.5, "scanned": [code]}, users["technician2"]
    )
    assert got.discrepancies == 0 and got.items[0].outcome == "accepted"
    db.session.refresh(product)
    assert product.status == "released" and product.custodian_id == users["technician2"].id
    (arrive,) = entries("arrive")
    assert json.loads(arrive.data)["shipment"]["code"] == back.code
    assert db.session.scalars(select(Deviation)).all() == []


def test_damaged_unexpected_and_a_warm_arrival_each_open_a_deviation(net, users, register):
    doctor, tech = users["clinician"], users["technician"]
    shipment, made = packed(net, users, register, count=2)
    stray = register("BLOOD", mrn="MRN-STRAY")
    shipments.dispatch(shipment.id, checked(), doctor)
    unknown = "=W99992612345692"  # a DIN of another facility: no unit here
    got = shipments.receive(
        shipment.id,
        {
            "arrival_temperature_c": 12.0,
            "scanned": [made[0].barcode_data, made[1].barcode_data, stray.barcode_data, unknown],
            "damaged": [made[1].barcode_data],
            "note": "box warm, one bag leaking, two extra labels",
        },
        tech,
    )
    by_outcome = {}
    for item in got.items:
        by_outcome.setdefault(item.outcome, []).append(item)
    assert [i.unit_id for i in by_outcome["accepted"]] == [made[0].id]
    assert [i.unit_id for i in by_outcome["damaged"]] == [made[1].id]
    unexpected = sorted(by_outcome["unexpected"], key=lambda i: i.unit_id or 0)
    assert [(i.unit_id, i.scanned) for i in unexpected] == [(None, unknown), (stray.id, None)]
    # 12 °C is outside 2–8 °C: every received unit is outside acceptance and cites the shipment
    deviations = list(db.session.scalars(select(Deviation).order_by(Deviation.unit_id)))
    assert {d.unit_id for d in deviations} == {made[0].id, made[1].id, stray.id}
    assert all(d.shipment_id == shipment.id for d in deviations)
    assert got.discrepancies == 4  # damaged, unexpected ×2 and the temperature
    db.session.refresh(stray)
    assert stray.status == "collected"  # an unexpected unit's custody is not taken over


def test_a_note_is_needed_when_the_temperature_is_outside_the_condition(net, users, register):
    doctor, tech = users["clinician"], users["technician"]
    shipment, made = packed(net, users, register, count=1)
    shipments.dispatch(shipment.id, checked(), doctor)
    with pytest.raises(Invalid, match="outside Refrigerated") as warm:
        shipments.receive(
            shipment.id, {"arrival_temperature_c": 15.0, "scanned": [made[0].barcode_data]}, tech
        )
    assert warm.value.code == "note_required"
    with pytest.raises(Invalid):
        shipments.receive(shipment.id, {"arrival_temperature_c": "5", "scanned": []}, tech)


def test_an_overdue_shipment_is_told_once(net, users, register):
    doctor = users["clinician"]
    shipment, _made = packed(net, users, register, count=1)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    shipments.dispatch(shipment.id, checked(expected_by=soon), doctor)
    assert schedule.transit_checks() == 0
    db.session.execute(
        db.update(db.Model.metadata.tables["shipments"]).values(
            expected_by=datetime.now(UTC) - timedelta(minutes=1)
        )
    )
    db.session.commit()
    assert schedule.transit_checks() == 1
    assert schedule.transit_checks() == 0
    (event,) = db.session.scalars(
        select(OutboxEvent).where(
            OutboxEvent.kind == "transit_overdue", OutboxEvent.unit_id.is_(None)
        )
    )
    assert event.data["path"] == f"/shipments/{shipment.id}"


def test_two_receipts_at_once_record_one(net, users, register, app):
    doctor = users["clinician"]
    shipment, made = packed(net, users, register, count=2)
    shipments.dispatch(shipment.id, checked(), doctor)
    data = {"arrival_temperature_c": 5.0, "scanned": [u.barcode_data for u in made]}
    tech_ids = [users["technician"].id, users["technician2"].id]
    unit_id = made[0].id

    def receive(user_id):
        with app.app_context():
            try:
                shipments.receive(shipment_id, data, db.session.get(User, user_id))
                return "ok"
            except Conflict as exc:
                return exc.code
            finally:
                db.session.remove()

    shipment_id = shipment.id
    db.session.remove()  # the test's own read holds SQLite's write lock until it ends
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(receive, tech_ids))
    assert results.count("ok") == 1
    assert {*results} - {"ok"} <= {"received_already", "not_dispatched", "busy"}
    assert len(entries("shipment_received")) == 1
    assert len(entries("receive")) == 2
    assert db.session.scalar(select(Unit.status).where(Unit.id == unit_id)) == "received"
