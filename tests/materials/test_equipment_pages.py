"""The equipment register in the browser: the list with today's warnings, registering and
editing (admin, QA), recording a calibration or maintenance and changing the status
(technician, QA), a refused form that keeps what was typed and changes nothing, a form sent
twice that records once, the units an item touched (paged, and as CSV with the calibration of
the moment), its label, and the scan box opening an item."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from lims.domain.codes import make_equipment_code
from lims.extensions import db
from lims.models import Equipment, EquipmentRecord, LedgerEntry
from lims.services.admin import locations
from lims.services.materials import equipment
from tests.web.conftest import text_of

from .equipment_lab import a_use, calibrate, days, entries, make_item, state, today

ZONE = "Europe/Berlin"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": ZONE}


def mine(item: Equipment) -> Equipment:
    db.session.rollback()
    return db.session.get(Equipment, item.id)


# ---------------------------------------------------------------------------- the list


def test_the_list_shows_status_dates_and_warnings(login, users):
    item = make_item(users, name="Centrifuge 7", maintenance_interval_days=3)
    calibrate(users, item, today() - days(300), today() - days(1))
    broken = make_item(users, name="Incubator 2", kind="incubator")
    equipment.set_status(
        broken.id, {"status": "out_of_service", "reason": "CO2 alarm"}, users["qa"]
    )

    response = login("technician").get("/equipment/")

    assert response.status_code == 200
    page = text_of(response)
    assert f"{item.code} Centrifuge 7 Centrifuge" in page
    assert f"{(today() - days(1)).isoformat()} lapsed" in page
    assert f"{(today() + days(3)).isoformat()} due within 7 days" in page
    assert "Incubator 2 Incubator — out of service CO2 alarm" in page
    assert f"today is {today().isoformat()} ({ZONE})" in page
    html = response.get_data(as_text=True)
    assert '<a href="/equipment/" aria-current="page">Equipment</a>' in html
    assert "Register equipment" not in page  # a technician records, but does not register


def test_the_list_filters_by_kind_and_status(login, users):
    make_item(users, name="Centrifuge 7")
    fridge = make_item(users, name="Fridge 9", kind="refrigerator")
    client = login("qa")

    page = text_of(client.get("/equipment/?kind=refrigerator&status=in_service"))

    assert "Fridge 9" in page and "Centrifuge 7" not in page
    assert fridge.code in page
    assert "Centrifuge 7" in text_of(client.get("/equipment/?kind=nonsense"))  # ignored


def test_clinicians_have_no_equipment_pages(login, users):
    item = make_item(users)
    client = login("clinician")
    assert client.get("/equipment/").status_code == 403
    assert client.get(f"/equipment/{item.id}").status_code == 403
    assert 'href="/equipment/"' not in client.get("/units/").get_data(as_text=True)


# ---------------------------------------------------------------------------- register, edit


def registration_form(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Cell counter 1",
        "kind": "cell_counter",
        "model": "NucleoCounter NC-202",
        "serial_number": "NC-7781",
        "location": "",
        "calibration_interval_days": "365",
        "maintenance_interval_days": "180",
    }
    data.update(changes)
    return data


def test_an_admin_registers_an_item_and_is_taken_to_its_page(login, users):
    room = locations.create_location("QC lab", "room", None, users["admin"])
    client = login("admin")
    assert "Register equipment" in text_of(client.get("/equipment/"))

    response = client.post("/equipment/new", data=registration_form(location=room.code))

    item = db.session.scalar(select(Equipment).where(Equipment.serial_number == "NC-7781"))
    assert response.status_code == 302 and response.location.endswith(f"/equipment/{item.id}")
    page = text_of(client.get(response.location))
    assert f"Registered Cell counter 1 as {item.code}. Print its label next." in page
    assert "QC lab" in page and "NucleoCounter NC-202" in page
    assert item.maintenance_due_on == today() + days(180)
    assert "equipment registered" in page  # its history


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "String should have at least 1 character"),
        ({"kind": ""}, "kind", "Input should be"),
        ({"maintenance_interval_days": "abc"}, "maintenance_interval_days", "Not a valid integer"),
        (
            {"calibration_interval_days": "0"},
            "calibration_interval_days",
            "greater than or equal to 1",
        ),
    ],
)
def test_a_refused_registration_keeps_what_was_typed_and_saves_nothing(
    login, users, changes, field, message
):
    client = login("qa")
    before = state()

    response = client.post("/equipment/new", data=registration_form(**changes))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error-1">[^<]*{message}', html), html[:3000]
    assert 'value="NucleoCounter NC-202"' in html  # what was typed stays
    assert state() == before


def test_a_registration_sent_twice_registers_once(login, users):
    client = login("qa")
    client.post("/equipment/new", data=registration_form())

    response = client.post("/equipment/new", data=registration_form(), follow_redirects=True)

    assert response.status_code == 200
    assert "This item is already registered as" in text_of(response)
    count = db.session.scalars(select(Equipment).where(Equipment.serial_number == "NC-7781")).all()
    assert len(count) == 1


def test_a_technician_may_not_register_or_edit(login, users):
    item = make_item(users)
    client = login("technician")
    assert client.get("/equipment/new").status_code == 403
    assert client.post("/equipment/new", data=registration_form()).status_code == 403
    assert client.post(f"/equipment/{item.id}/edit", data=registration_form()).status_code == 403


def test_the_edit_form_shows_the_item_and_saves_a_change(login, users):
    item = make_item(users, name="Centrifuge 7", maintenance_interval_days=90)
    client = login("qa")

    form = client.get(f"/equipment/{item.id}/edit").get_data(as_text=True)
    assert 'value="Centrifuge 7"' in form and 'value="90"' in form

    data = {"name": "Centrifuge 7 (QC)", "kind": "centrifuge", "maintenance_interval_days": "60"}
    response = client.post(f"/equipment/{item.id}/edit", data=data, follow_redirects=True)

    assert f"Saved the changes to {item.code}." in text_of(response)
    assert mine(item).maintenance_due_on == today() + days(60)
    again = client.post(f"/equipment/{item.id}/edit", data=data, follow_redirects=True)
    assert "Nothing changed." in text_of(again)
    assert len(entries("equipment_updated")) == 1


# ---------------------------------------------------------------------------- records, status


def calibration_form(**changes: Any) -> dict[str, Any]:
    data = {
        "kind": "calibration",
        "performed_on": today().isoformat(),
        "performed_by": "Cal Services Ltd",
        "certificate_ref": "CERT-2026-118",
        "valid_until": (today() + days(365)).isoformat(),
        "notes": "",
    }
    data.update(changes)
    return data


def test_a_technician_records_a_calibration_once_even_when_sent_twice(login, users):
    item = make_item(users)
    client = login("technician")
    form = client.get(f"/equipment/{item.id}/records?kind=maintenance").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="maintenance"', form)

    first = client.post(f"/equipment/{item.id}/records", data=calibration_form())
    second = client.post(
        f"/equipment/{item.id}/records", data=calibration_form(), follow_redirects=True
    )

    assert first.status_code == 302
    page = text_of(second)
    assert f"This calibration of {item.code} on {today().isoformat()} is already recorded" in page
    assert "CERT-2026-118" in page
    records = db.session.scalars(
        select(EquipmentRecord).where(EquipmentRecord.equipment_id == item.id)
    ).all()
    assert len(records) == 1
    assert mine(item).calibration_valid_until == today() + days(365)


def test_a_refused_record_says_why_beside_the_field(login, users):
    item = make_item(users)
    client = login("qa")
    before = state()
    tomorrow = (today() + days(1)).isoformat()

    response = client.post(
        f"/equipment/{item.id}/records",
        data=calibration_form(performed_on=tomorrow, certificate_ref=""),
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="performed_on-error-1">in the future', html)
    assert state() == before
    response = client.post(
        f"/equipment/{item.id}/records", data=calibration_form(certificate_ref="")
    )
    assert re.search(
        r'id="certificate_ref-error-1">a calibration names its certificate',
        response.get_data(as_text=True),
    )


def test_taking_an_item_out_of_service_and_back(login, users):
    item = make_item(users)
    calibrate(users, item, today() - days(400), today() - days(2))
    client = login("technician")

    refused = client.post(f"/equipment/{item.id}/status", data={"status": "out_of_service"})
    assert refused.status_code == 422
    assert "say why it is taken out of service" in text_of(refused)

    done = client.post(
        f"/equipment/{item.id}/status",
        data={"status": "out_of_service", "reason": "calibration lapsed"},
        follow_redirects=True,
    )
    page = text_of(done)
    assert f"{item.code} is out of service." in page
    assert "Not usable on a unit today" in page and "Return to service" in page

    lapsed = client.post(f"/equipment/{item.id}/status", data={"status": "in_service"})
    assert lapsed.status_code == 409
    assert "record a new calibration or qualification before returning it" in text_of(lapsed)
    assert mine(item).status == "out_of_service"


def test_a_status_form_sent_twice_changes_once(login, users):
    item = make_item(users)
    client = login("qa")
    data = {"status": "out_of_service", "reason": "door seal"}
    client.post(f"/equipment/{item.id}/status", data=data)
    again = client.post(f"/equipment/{item.id}/status", data=data, follow_redirects=True)
    assert f"{item.code} is already out of service; nothing changed." in text_of(again)
    assert len(entries("equipment_status")) == 1


# ---------------------------------------------------------------------------- units touched


def test_the_page_lists_the_units_it_touched_paged_and_as_csv(login, users, register):
    item = make_item(users)
    calibrate(users, item, today() - days(100), today() + days(30))
    unit = register("ADIPOSE")
    for _ in range(50):
        a_use(item, unit, step="centrifuge")
    calibrate(users, item, today(), today() + days(400), certificate_ref="CERT-NEW")
    last = a_use(item, unit, step="centrifuge")
    client = login("qa")

    page1 = client.get(f"/equipment/{item.id}")
    text = text_of(page1)
    assert "51 uses · page 1 of 2, newest first" in text
    assert (today() + days(400)).isoformat() in text  # the latest use: the new calibration
    page2 = text_of(client.get(f"/equipment/{item.id}?page=2"))
    assert "page 2 of 2" in page2 and unit.eye_readable in page2
    assert text_of(client.get(f"/equipment/{item.id}?page=99")).count("page 2 of 2") == 1

    response = client.get(f"/equipment/{item.id}/units.csv")
    assert response.mimetype == "text/csv"
    assert f'filename="{item.code}-units.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 51
    assert rows[0]["calibration_valid_until_at_use"] == (today() + days(400)).isoformat()
    assert {r["calibration_valid_until_at_use"] for r in rows[1:]} == {
        (today() + days(30)).isoformat()
    }
    assert rows[0]["unit"] == unit.eye_readable and rows[0]["step"] == "centrifuge"
    assert rows[0]["used_at_local"].endswith(("CET", "CEST"))
    assert rows[0]["used_at_utc"] == last.used_at.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- label, scan


def test_the_label_is_previewed_then_printed_and_a_reprint_needs_a_reason(login, users):
    item = make_item(users, name="LN2 tank 3", kind="ln2_tank")
    client = login("technician")

    dialog = client.get(f"/equipment/{item.id}/label").get_data(as_text=True)
    assert "<svg" in dialog and item.code in dialog

    printed = client.post(f"/equipment/{item.id}/label", data={"format": "pdf"})
    assert printed.mimetype == "application/pdf"
    assert printed.get_data().startswith(b"%PDF")
    refused = client.post(f"/equipment/{item.id}/label", data={"format": "pdf"})
    assert refused.status_code == 422
    assert "a reprint needs a reason" in text_of(refused)
    reprint = client.post(
        f"/equipment/{item.id}/label", data={"format": "zpl", "reason": "label smudged"}
    )
    assert reprint.status_code == 200 and item.code in reprint.get_data(as_text=True)

    db.session.rollback()
    actions = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.action.in_(("print_label", "reprint_label")))
        .order_by(LedgerEntry.seq)
    ).all()
    assert [e.action for e in actions] == ["print_label", "reprint_label"]
    assert json.loads(actions[1].data)["equipment"] == item.code
    assert actions[1].reason == "label smudged"
    assert "reprint label" in text_of(client.get(f"/equipment/{item.id}"))


def test_scanning_an_equipment_code_opens_its_page(login, users):
    item = make_item(users)
    client = login("technician")

    response = client.get(f"/scan?code={item.code}")
    assert response.status_code == 302 and response.location.endswith(f"/equipment/{item.id}")

    unknown = make_equipment_code("T0001", 4242)
    missing = client.get(f"/scan?code={unknown}")
    assert missing.status_code == 404 and f"no equipment has code {unknown}" in text_of(missing)


def test_a_clinician_scanning_an_equipment_code_is_told_what_it_is(login, users):
    item = make_item(users)
    response = login("clinician").get(f"/scan?code={item.code}")
    assert response.status_code == 422
    assert "equipment code; the scan station handles it" in text_of(response)
