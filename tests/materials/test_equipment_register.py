"""The equipment register's rules (services.materials.equipment): who may do what, what each
change records in the ledger, how the latest record sets the item's dates, what is refused
(and that a refusal writes nothing), and that a form sent twice adds nothing twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from lims.domain import codes
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import EquipmentRecord
from lims.services.admin import locations
from lims.services.materials import equipment

from .equipment_lab import a_use, calibrate, days, entries, make_item, state, today

# ---------------------------------------------------------------------------- registering


def test_registering_gives_a_scannable_code_and_a_ledger_entry(users):
    room = locations.create_location("Clean room 1", "room", None, users["admin"])

    item = make_item(
        users,
        name="Centrifuge 2",
        model="Heraeus Multifuge X3R",
        serial_number="41234567",
        location=room.code,
        calibration_interval_days=365,
        maintenance_interval_days=90,
    )

    assert isinstance(codes.classify(item.code), codes.EquipmentCode)
    assert item.code.startswith("ET0001") and len(item.code) == 13
    assert item.status == "in_service" and item.location_id == room.id
    assert item.calibration_valid_until is None
    assert item.maintenance_due_on == today() + timedelta(days=90)
    (entry,) = entries("equipment_registered")
    data = json.loads(entry.data)
    assert entry.unit_id is None and entry.actor_role == "qa"
    assert data["equipment"] == item.code and data["equipment_id"] == item.id
    assert data["location"] == room.code and data["serial_number"] == "41234567"
    assert data["maintenance_due_on"] == item.maintenance_due_on.isoformat()


def test_each_item_gets_its_own_code(users):
    first = make_item(users, name="Incubator A", kind="incubator")
    second = make_item(users, name="Incubator B", kind="incubator")
    assert first.code != second.code


@pytest.mark.parametrize("role", ["admin", "qa"])
def test_admin_and_qa_register(users, role):
    assert make_item(users, as_=role).created_by_id == users[role].id


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_others_may_not_register(users, role):
    before = state()
    with pytest.raises(Forbidden):
        make_item(users, as_=role)
    assert state() == before


def _bad_box(users) -> str:
    box = locations.create_location("Box 1", "box", None, users["admin"], rows=1, columns=1)
    return box.children[0].code


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Bad\x01name"}, "name"),
        ({"kind": "toaster"}, "kind"),
        ({"calibration_interval_days": 0}, "calibration_interval_days"),
        ({"maintenance_interval_days": 3651}, "maintenance_interval_days"),
        ({"maintenance_interval_days": "30"}, "maintenance_interval_days"),
        ({"maintenance_interval_days": 30.5}, "maintenance_interval_days"),
        ({"location": "wrong check"}, "location"),  # a wrong check character (made below)
        ({"location": "=T000126000005H00"}, "location"),  # a unit's code
        ({"location": "position"}, "location"),  # a box position (made below)
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_details_are_refused_field_by_field_and_nothing_is_written(users, fields, field):
    if fields.get("location") == "position":
        fields = {"location": _bad_box(users)}
    if fields.get("location") == "wrong check":
        good = codes.make_location_code("T0001", 1)
        fields = {"location": good[:-1] + ("A" if good[-1] != "A" else "B")}
    before = state()
    with pytest.raises(Invalid) as refused:
        make_item(users, **fields)
    assert field in refused.value.fields, refused.value.fields
    assert state() == before


def test_an_unknown_location_code_is_refused_on_its_field(users):
    unknown = codes.make_location_code("T0001", 999)
    with pytest.raises(Invalid) as refused:
        make_item(users, location=unknown)
    assert refused.value.fields == {"location": f"no location has code {unknown}"}


def test_the_same_serial_number_is_not_registered_twice(users):
    first = make_item(users, model="Model X", serial_number="SN-1")
    before = state()
    with pytest.raises(Conflict) as refused:
        make_item(users, name="Another name", model="model x", serial_number="sn-1")
    assert refused.value.code == "duplicate_equipment" and first.code in refused.value.message
    assert state() == before
    # Another model may well carry the same serial number.
    make_item(users, model="Model Y", serial_number="SN-1")


def test_a_registration_sent_twice_is_registered_once(users):
    make_item(users, name="Fridge 3", kind="refrigerator")
    with pytest.raises(Conflict) as refused:
        make_item(users, name="Fridge 3", kind="refrigerator")
    assert refused.value.code == "duplicate_equipment"
    # Later, a second fridge of that name is the lab's business (a new item).
    later = datetime.now(UTC) + timedelta(minutes=3)
    second = equipment.register_equipment(
        {"name": "Fridge 3", "kind": "refrigerator"}, users["qa"], at=later
    )
    assert second.created_at == later


def test_the_moment_can_be_given_for_a_replay(users):
    then = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    item = equipment.register_equipment(
        {"name": "Cabinet 1", "kind": "biosafety_cabinet", "maintenance_interval_days": 30},
        users["qa"],
        at=then,
    )
    assert item.created_at == then
    assert item.maintenance_due_on.isoformat() == "2026-04-01"
    assert entries("equipment_registered")[0].recorded_at == then


# ---------------------------------------------------------------------------- editing


def test_an_edit_records_what_changed_and_moves_the_next_maintenance(users):
    item = make_item(users, maintenance_interval_days=90)
    data = {"name": "Centrifuge 1 (clean room)", "kind": "centrifuge"}

    equipment.update_equipment(item.id, {**data, "maintenance_interval_days": 30}, users["admin"])

    assert item.name == "Centrifuge 1 (clean room)"
    assert item.maintenance_due_on == today() + timedelta(days=30)
    (entry,) = entries("equipment_updated")
    changes = json.loads(entry.data)["changes"]
    assert changes["name"] == ["Centrifuge 1", "Centrifuge 1 (clean room)"]
    assert changes["maintenance_interval_days"] == [90, 30]
    assert changes["maintenance_due_on"][1] == item.maintenance_due_on.isoformat()


def test_an_edit_that_changes_nothing_writes_nothing(users):
    item = make_item(users)
    before = state()
    with pytest.raises(Conflict) as refused:
        equipment.update_equipment(item.id, {"name": item.name, "kind": item.kind}, users["qa"])
    assert refused.value.code == "no_change"
    assert state() == before


def test_an_edit_by_a_technician_or_of_an_unknown_item_is_refused(users):
    item = make_item(users)
    with pytest.raises(Forbidden):
        equipment.update_equipment(
            item.id, {"name": "X", "kind": "centrifuge"}, users["technician"]
        )
    with pytest.raises(NotFound):
        equipment.update_equipment(999_999, {"name": "X", "kind": "centrifuge"}, users["qa"])


# ---------------------------------------------------------------------------- records


def test_a_calibration_sets_the_valid_until_and_is_a_ledger_entry(users):
    item = make_item(users)
    record = calibrate(users, item, today() - days(2), today() + days(363))

    assert item.calibration_valid_until == today() + days(363)
    assert record.recorded_by_id == users["technician"].id
    (entry,) = entries("equipment_calibrated")
    data = json.loads(entry.data)
    assert data["equipment"] == item.code and data["record_id"] == record.id
    assert data["calibration_valid_until"] == [None, (today() + days(363)).isoformat()]


def test_without_a_date_the_calibration_interval_counts_from_the_day_performed(users):
    item = make_item(users, calibration_interval_days=180)
    record = calibrate(users, item, today() - days(10))
    assert record.valid_until == today() - days(10) + days(180)
    assert item.calibration_valid_until == record.valid_until


def test_the_latest_record_by_day_performed_sets_the_date_not_the_last_entered(users):
    item = make_item(users)
    calibrate(users, item, today() - days(5), today() + days(360))
    # An older certificate entered afterwards does not move the date back …
    calibrate(users, item, today() - days(400), today() - days(40), kind="qualification")
    assert item.calibration_valid_until == today() + days(360)
    # … a newer one (a qualification counts too) does, even to an earlier date.
    calibrate(users, item, today(), today() + days(100), kind="qualification")
    assert item.calibration_valid_until == today() + days(100)


def test_maintenance_sets_the_next_due_date_from_the_interval(users):
    item = make_item(users, maintenance_interval_days=30)
    calibrate(users, item, today() - days(3), kind="maintenance", certificate_ref="")
    assert item.maintenance_due_on == today() + days(27)
    (entry,) = entries("equipment_maintained")
    assert json.loads(entry.data)["maintenance_due_on"] == [
        (today() + days(30)).isoformat(),
        (today() + days(27)).isoformat(),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"performed_on": "tomorrow"}, "performed_on"),
        ({"performed_on": "long ago"}, "performed_on"),
        ({"valid_until": "same day"}, "valid_until"),
        ({"valid_until": "eleven years"}, "valid_until"),
        ({"certificate_ref": ""}, "certificate_ref"),
        ({"valid_until": "none"}, "valid_until"),  # no interval to count from
        ({"kind": "maintenance", "valid_until": "next year"}, "valid_until"),
        ({"kind": "repair"}, "kind"),
        ({"performed_on": "2026-02-30"}, "performed_on"),
        ({"performed_by": ""}, "performed_by"),
        ({"notes": "n" * 2001}, "notes"),
        ({"notes": "a\x00b"}, "notes"),
    ],
)
def test_bad_records_are_refused_field_by_field_and_nothing_is_written(users, change, field):
    item = make_item(users)
    words = {
        "tomorrow": today() + days(1),
        "long ago": today() - days(21 * 366),
        "same day": today(),
        "eleven years": today() + days(11 * 366),
        "next year": today() + days(365),
        "none": None,
    }
    data = {
        "kind": "calibration",
        "performed_on": today().isoformat(),
        "performed_by": "Cal Services Ltd",
        "certificate_ref": "CERT-9",
        "valid_until": (today() + days(365)).isoformat(),
    }
    for key, value in change.items():
        value = words.get(value, value)
        data[key] = value.isoformat() if hasattr(value, "isoformat") else value
    data = {k: v for k, v in data.items() if v is not None}
    before = state()
    with pytest.raises(Invalid) as refused:
        equipment.record(item.id, data, users["technician"])
    assert field in refused.value.fields, refused.value.fields
    assert state() == before


def test_the_same_record_sent_twice_is_kept_once(users):
    item = make_item(users)
    calibrate(users, item, today(), today() + days(365))
    before = state()
    with pytest.raises(Conflict) as refused:
        calibrate(users, item, today(), today() + days(365))
    assert refused.value.code == "duplicate_record"
    assert state() == before


@pytest.mark.parametrize("role", ["admin", "clinician"])
def test_records_are_made_by_technicians_and_qa_only(users, role):
    item = make_item(users)
    with pytest.raises(Forbidden):
        calibrate(users, item, today(), today() + days(30), as_=role)
    calibrate(users, item, today(), today() + days(30), as_="qa")


def test_records_cannot_be_changed_in_the_database(users):
    item = make_item(users)
    record = calibrate(users, item, today(), today() + days(30))
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(
            text("UPDATE equipment_records SET valid_until = NULL WHERE id = :id"),
            {"id": record.id},
        )
        db.session.commit()
    db.session.rollback()
    assert db.session.get(EquipmentRecord, record.id).valid_until == today() + days(30)


# ---------------------------------------------------------------------------- status


@pytest.mark.req("A11-2")
def test_out_of_service_needs_a_reason_and_is_a_ledger_entry(users):
    item = make_item(users)
    before = state()
    with pytest.raises(Invalid) as refused:
        equipment.set_status(item.id, {"status": "out_of_service"}, users["technician"])
    assert set(refused.value.fields) == {"reason"}
    assert state() == before

    equipment.set_status(
        item.id, {"status": "out_of_service", "reason": "rotor cracked"}, users["technician"]
    )

    assert (item.status, item.status_reason) == ("out_of_service", "rotor cracked")
    (entry,) = entries("equipment_status")
    assert entry.reason == "rotor cracked"
    assert json.loads(entry.data)["status"] == ["in_service", "out_of_service"]


def test_a_status_the_item_has_is_no_change(users):
    item = make_item(users)
    with pytest.raises(Conflict) as refused:
        equipment.set_status(item.id, {"status": "in_service"}, users["qa"])
    assert refused.value.code == "no_change"
    out = {"status": "out_of_service", "reason": "door seal"}
    equipment.set_status(item.id, out, users["qa"])
    before = state()
    with pytest.raises(Conflict):
        equipment.set_status(item.id, out, users["qa"])  # the same form again
    assert state() == before
    # A new reason while out of service is recorded.
    equipment.set_status(item.id, {**out, "reason": "sent for repair"}, users["qa"])
    assert item.status_reason == "sent for repair"


def test_back_into_service_with_a_lapsed_calibration_is_refused_until_recalibrated(users):
    item = make_item(users)
    calibrate(users, item, today() - days(400), today() - days(35))
    equipment.set_status(
        item.id, {"status": "out_of_service", "reason": "calibration lapsed"}, users["qa"]
    )
    before = state()
    with pytest.raises(Conflict) as refused:
        equipment.set_status(item.id, {"status": "in_service"}, users["technician"])
    assert refused.value.code == "calibration_lapsed"
    assert state() == before

    calibrate(users, item, today(), today() + days(365))
    equipment.set_status(item.id, {"status": "in_service"}, users["technician"])
    assert item.status == "in_service" and item.status_reason is None


@pytest.mark.parametrize("role", ["admin", "clinician"])
def test_status_is_changed_by_technicians_and_qa_only(users, role):
    item = make_item(users)
    with pytest.raises(Forbidden):
        equipment.set_status(item.id, {"status": "out_of_service", "reason": "x"}, users[role])


def test_the_due_state_says_whether_an_item_may_be_used_today(users):
    item = make_item(users, maintenance_interval_days=3)
    calibrate(users, item, today() - days(360), today() + days(5))
    due = equipment.due_state(item)
    assert due.usable and due.calibration == "7d" and due.maintenance == "7d"
    assert equipment.due_state(item, today() + days(6)).problem.startswith(
        f"{item.code} Centrifuge 1 is past its calibration"
    )


# ---------------------------------------------------------------------------- units touched


def test_the_units_an_item_touched_keep_the_calibration_of_the_moment(users, register):
    item = make_item(users)
    calibrate(users, item, today() - days(300), today() + days(60))
    first, second = register("ADIPOSE"), register("MARROW", mrn="MRN-2")
    a_use(item, first, at=datetime.now(UTC) - timedelta(hours=2))
    calibrate(users, item, today(), today() + days(365))
    a_use(item, second, step="centrifuge")

    page = equipment.units_touched(item, users["qa"], per_page=1)

    assert page.total == 2 and page.pages == 2 and page.has_next
    ((use, unit),) = page.rows
    assert unit.id == second.id and use.calibration_valid_until == today() + days(365)
    ((use, unit),) = equipment.units_touched(item, users["qa"], page=2, per_page=1).rows
    assert unit.id == first.id and use.calibration_valid_until == today() + days(60)
    # A page past the end: the last one for a page, none for the API.
    assert equipment.units_touched(item, users["qa"], page=9, per_page=1).page == 2
    assert equipment.units_touched(item, users["qa"], page=9, per_page=1, clamp=False).rows == []
    assert [u.id for _, u in equipment.all_units_touched(item, users["qa"])] == [
        second.id,
        first.id,
    ]
