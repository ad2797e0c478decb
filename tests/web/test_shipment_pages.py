"""Shipments through the pages: a clinician of the clinic creates one, scans five units in (a
wrong check character is said beside the box), dispatches it with a second person's password;
a technician at the lab scans four in, is asked for a note naming the missing one, writes it
and receives the shipment. The list, the manifest's barcode scanned to open a shipment, the
PDFs, the unit page's banner while it travels, and every refusal as a clear message."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Deviation, Shipment
from lims.services.admin import accounts, sites
from lims.services.station import shipments
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages; the service is tested on both in service/test_shipments)
from tests.conftest import PASSWORD
from tests.sites import CLINIC
from tests.web.conftest import local_input, text_of


@pytest.fixture
def net(users):
    """The lab (every account's first site) and a clinic: the clinicians belong to the
    clinic, the technicians to the lab."""
    admin = users["admin"]
    (lab,) = sites.list_sites()
    clinic = sites.register_site(CLINIC, admin)
    nurse = accounts.create_user("nurse", "clinician", PASSWORD, full_name="Second Clinician")
    for person in (users["clinician"], nurse):
        sites.set_memberships(person.id, [clinic.id], admin)
    return {"lab": lab, "clinic": clinic, "nurse": nurse}


NEW = {
    "container": "Insulated box 12 L",
    "courier": "MedCourier",
    "tracking_number": "MC-1234",
    "condition": "refrigerated",
    "logger_id": "TL-77",
}


def shipment_id_of(response) -> int:
    match = re.fullmatch(r"/shipments/(\d+)(#\w+)?", response.location or "")
    assert response.status_code == 302 and match, (response.status_code, response.location)
    return int(match[1])


def stored(shipment_id: int) -> Shipment:
    db.session.rollback()
    found = db.session.get(Shipment, shipment_id)
    db.session.refresh(found)
    return found


def autofocused(html: str) -> list[str]:
    """The names of the inputs that take the cursor when the page opens."""
    return re.findall(r'<(?:input|textarea|select)[^>]*\bautofocus\b[^>]*\bname="([^"]+)"', html)


def switch(client, login, role: str):
    """Sign out, and in again as another person (signed in, /login only goes home)."""
    client.post("/logout")
    return login(role)


def create(client, net) -> int:
    form = {"from_site": str(net["clinic"].id), "to_site": str(net["lab"].id), **NEW}
    return shipment_id_of(client.post("/shipments/new", data=form))


def pack(client, shipment_id: int, units) -> None:
    for unit in units:
        response = client.post(f"/shipments/{shipment_id}/items", data={"code": unit.barcode_data})
        assert shipment_id_of(response) == shipment_id


def dispatched(client, net, register, count: int = 5):
    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Pat {i}") for i in range(count)]
    shipment_id = create(client, net)
    pack(client, shipment_id, made)
    response = client.post(
        f"/shipments/{shipment_id}/dispatch",
        data={"checked_by": "nurse", "checked_by_password": PASSWORD},
    )
    assert shipment_id_of(response) == shipment_id
    return shipment_id, made


def test_the_whole_journey_through_the_pages(client, login, net, users, register):
    doctor = login("clinician")
    new_page = doctor.get("/shipments/new")
    assert new_page.status_code == 200
    assert "Hair Clinic North (C0002)" in text_of(new_page)
    assert "Refrigerated, 2–8 °C" in text_of(new_page)
    shipment_id = create(doctor, net)
    shipment = stored(shipment_id)
    assert shipment.code.startswith("SHC0002") and shipment.status == "preparing"

    page = doctor.get(f"/shipments/{shipment_id}")
    assert "Pack: scan each unit in" in text_of(page)
    assert autofocused(page.text) == ["code"]  # the scan box, for the scanner

    made = [register("ADIPOSE", mrn=f"MRN-{i}", name=f"Pat {i}") for i in range(5)]
    pack(doctor, shipment_id, made[:1])
    added = text_of(doctor.get(f"/shipments/{shipment_id}"))
    assert f"Added {made[0].eye_readable} {made[0].product_code}" in added
    assert "1 unit in the shipment" in added

    # a DIN typed with the wrong check character: said beside the box, nothing added
    typed = made[1].eye_readable
    wrong = typed[:-1] + ("A" if typed[-1] != "A" else "B")
    refused = doctor.post(f"/shipments/{shipment_id}/items", data={"code": wrong})
    assert refused.status_code == 422
    assert re.search(
        rf'class="field-error" role="alert">Not added \({wrong}\): check character '
        rf"'{wrong[-1]}' is wrong for \w+: expected '{typed[-1]}'",
        refused.text.replace("&#39;", "'"),
    )
    assert autofocused(refused.text) == ["code"]  # empty, ready for the next scan
    assert len(shipments.manifest(stored(shipment_id))) == 1

    pack(doctor, shipment_id, made[1:])
    page = doctor.get(f"/shipments/{shipment_id}")
    assert "Units (5 on the manifest)" in text_of(page)
    assert "Pat 0" not in text_of(page)  # no patient is named on a shipment's page
    for unit in made:
        assert f'href="/units/{unit.id}"' in page.text

    # the packer alone cannot dispatch: a wrong password of the second person
    response = doctor.post(
        f"/shipments/{shipment_id}/dispatch",
        data={"checked_by": "nurse", "checked_by_password": "wrong-one"},
    )
    assert response.status_code == 422
    assert "Not dispatched: wrong password: Second Clinician's signature" in text_of(response)
    assert autofocused(response.text) == ["checked_by_password"]
    assert stored(shipment_id).status == "preparing"

    expected = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    response = doctor.post(
        f"/shipments/{shipment_id}/dispatch",
        data={
            "checked_by": "nurse",
            "checked_by_password": PASSWORD,
            "expected_by": local_input(expected),
        },
    )
    assert shipment_id_of(response) == shipment_id
    sent = stored(shipment_id)
    assert sent.status == "dispatched" and sent.checked_by_id == net["nurse"].id
    assert sent.expected_by == expected  # typed in Berlin time, stored in UTC
    page = text_of(doctor.get(f"/shipments/{shipment_id}"))
    assert f"Shipment {sent.code} dispatched to {net['lab'].name}: 5 units, expected by" in page
    assert "On its way to" in page and "Receive: scan every unit in" not in page

    # the unit page says where the unit is
    unit_page = text_of(doctor.get(f"/units/{made[0].id}"))
    assert f"In shipment {sent.code} to {net['lab'].name} since" in unit_page
    assert "receive it with its shipment" in unit_page

    # at the lab: four scanned, the fifth missing; the note is asked for, the scans are kept
    tech = switch(client, login, "technician")
    page = tech.get(f"/shipments/{shipment_id}")
    assert "Receive: scan every unit in" in text_of(page)
    assert autofocused(page.text) == ["arrival_temperature_c"]
    assert "0 of 5 scanned" in text_of(page)
    scans = "\n".join(u.barcode_data for u in made[:4])
    response = tech.post(
        f"/shipments/{shipment_id}/receive",
        data={"arrival_temperature_c": "5", "scanned": scans},
    )
    assert response.status_code == 422
    said = text_of(response)
    assert "Not received yet: the shipment does not arrive as sent" in said
    assert f"{made[4].eye_readable} {made[4].product_code} missing" in said
    assert autofocused(response.text) == ["note"]
    assert "4 of 5 scanned" in said
    for unit in made[:4]:
        assert unit.barcode_data in response.text  # kept in the "one per line" box
    assert stored(shipment_id).status == "dispatched"

    response = tech.post(
        f"/shipments/{shipment_id}/receive",
        data={"arrival_temperature_c": "5", "scanned": scans, "note": "courier called"},
    )
    assert shipment_id_of(response) == shipment_id
    page = tech.get(f"/shipments/{shipment_id}")
    said = text_of(page)
    assert f"Shipment {sent.code} received: 4 accepted, 1 missing." in said
    assert "QA is told" in said
    assert "accepted 4" in said and "missing 1" in said
    assert "5 °C (range 2 to 8 °C)" in said and "courier called" in said
    (deviation,) = db.session.scalars(select(Deviation))
    assert deviation.unit_id == made[4].id
    assert f'data-deviation="{deviation.id}"' in page.text
    assert "Receive: scan every unit in" not in said

    # sent twice (a second tap): the 409 said on top of the page
    again = tech.post(
        f"/shipments/{shipment_id}/receive",
        data={"arrival_temperature_c": "5", "scanned": scans, "note": "courier called"},
    )
    assert shipment_id_of(again) == shipment_id
    assert f"Not received: shipment {sent.code} is received" in text_of(
        tech.get(f"/shipments/{shipment_id}")
    )


def test_the_papers_are_pdfs_named_by_the_code(client, login, net, register):
    doctor = login("clinician")
    shipment_id = create(doctor, net)
    code = stored(shipment_id).code
    pack(doctor, shipment_id, [register("ADIPOSE")])
    for path, name in (("manifest.pdf", "manifest"), ("packing-list.pdf", "packing-list")):
        response = doctor.get(f"/shipments/{shipment_id}/{path}")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert response.headers["Content-Disposition"] == f'inline; filename="{name}-{code}.pdf"'


def test_the_list_and_the_manifest_barcode(client, login, net, users, register):
    doctor = login("clinician")
    shipment_id, _made = dispatched(doctor, net, register, count=2)
    code = stored(shipment_id).code
    page = doctor.get("/shipments")
    row = text_of(page)
    assert (
        f"{code} Hair Clinic North → to {net['lab'].name} on its way 2 MedCourier · MC-1234" in row
    )
    assert "data-new-shipment" in page.text

    found = doctor.get(f"/shipments/find?code={code.lower()}")
    assert shipment_id_of(found) == shipment_id
    unknown = doctor.get("/shipments/find?code=SHC000226999999")
    assert unknown.status_code == 404
    assert "SHC000226999999: no shipment SHC000226999999" in text_of(unknown)
    garbage = doctor.get("/shipments/find?code=hello")
    assert garbage.status_code == 422
    assert "a shipment's code is SH" in text_of(garbage)

    received = text_of(doctor.get("/shipments?status=received"))
    assert "No shipment is received." in received and code not in received
    odd = doctor.get("/shipments?status=lost")
    assert odd.status_code == 422 and "unknown status 'lost'" in text_of(odd)

    qa = switch(client, login, "qa")
    listed = qa.get("/shipments")
    assert code in text_of(listed) and "data-new-shipment" not in listed.text
    assert "Shipments</a>" in listed.text  # in the navigation
    detail = qa.get(f"/shipments/{shipment_id}")
    assert detail.status_code == 200 and 'action="/shipments/' not in detail.text
    assert qa.get("/shipments/new").status_code == 403


def test_a_shipment_is_overdue_on_the_list_and_its_page(client, login, net, register):
    doctor = login("clinician")
    shipment_id, _made = dispatched(doctor, net, register, count=1)
    db.session.execute(
        db.update(Shipment)
        .where(Shipment.id == shipment_id)
        .values(expected_by=datetime.now(UTC) - timedelta(hours=1))
    )
    db.session.commit()
    assert "overdue" in text_of(doctor.get("/shipments"))
    assert 'class="is-overdue"' in doctor.get("/shipments").text
    assert "and not received yet" in text_of(doctor.get(f"/shipments/{shipment_id}"))


def test_refusals_are_clear_messages(client, login, net, users, register):
    doctor = login("clinician")
    shipment_id, made = dispatched(doctor, net, register, count=1)

    # the sending site's clinician cannot receive it: the service's 403, said
    response = doctor.post(
        f"/shipments/{shipment_id}/receive",
        data={"arrival_temperature_c": "5", "scanned": made[0].barcode_data},
    )
    assert response.status_code == 403
    assert (
        f"you are not a member of {net['lab'].name} (T0001): only its people receive its "
        "shipments" in text_of(response)
    )

    # packing a shipment that left: the 409 on top of its page
    response = doctor.post(f"/shipments/{shipment_id}/items", data={"code": made[0].barcode_data})
    assert shipment_id_of(response) == shipment_id
    page = text_of(doctor.get(f"/shipments/{shipment_id}"))
    assert f"Not added ({made[0].barcode_data}): shipment" in page
    assert "only a shipment being packed takes units in or out" in page

    # a technician of a site at neither end does not see it at all
    elsewhere = sites.register_site({**CLINIC, "code": "C0003", "name": "South"}, users["admin"])
    sites.set_memberships(users["technician2"].id, [elsewhere.id], users["admin"])
    other = switch(client, login, "tech2")
    assert other.get(f"/shipments/{shipment_id}").status_code == 404
    assert other.get(f"/shipments/{shipment_id}/manifest.pdf").status_code == 404
    assert stored(shipment_id).code not in text_of(other.get("/shipments"))

    # a technician of the lab cannot pack at the clinic
    tech = switch(client, login, "technician")
    form = {"from_site": str(net["clinic"].id), "to_site": str(net["lab"].id), **NEW}
    response = tech.post("/shipments/new", data=form)
    assert response.status_code == 403
    assert "Nothing was saved: you are not a member of Hair Clinic North" in text_of(response)

    # nothing in the receive form: each field says why, nothing recorded
    response = tech.post(f"/shipments/{shipment_id}/receive", data={})
    assert response.status_code == 422
    assert "Not received yet" in text_of(response)
    assert stored(shipment_id).status == "dispatched"

    # the role check: QA reads, but neither packs nor receives
    qa = switch(client, login, "qa")
    assert qa.post(f"/shipments/{shipment_id}/receive", data={}).status_code == 403
    assert qa.post(f"/shipments/{shipment_id}/items", data={"code": "x"}).status_code == 403


def test_a_unit_is_removed_and_the_shipment_cancelled(client, login, net, register):
    doctor = login("clinician")
    shipment_id = create(doctor, net)
    unit = register("ADIPOSE")
    pack(doctor, shipment_id, [unit])
    (item,) = stored(shipment_id).items
    response = doctor.post(f"/shipments/{shipment_id}/items/{item.id}/remove")
    assert shipment_id_of(response) == shipment_id
    assert f"Removed {unit.eye_readable} {unit.product_code}" in text_of(
        doctor.get(f"/shipments/{shipment_id}")
    )
    again = doctor.post(f"/shipments/{shipment_id}/items/{item.id}/remove")  # a second tap
    assert shipment_id_of(again) == shipment_id
    assert "Nothing was removed" in text_of(doctor.get(f"/shipments/{shipment_id}"))

    response = doctor.post(f"/shipments/{shipment_id}/cancel", data={"reason": ""})
    assert response.status_code == 422
    assert "Not cancelled: say why the shipment is cancelled" in text_of(response)
    assert autofocused(response.text) == ["reason"]
    response = doctor.post(f"/shipments/{shipment_id}/cancel", data={"reason": "courier cancelled"})
    assert shipment_id_of(response) == shipment_id
    page = text_of(doctor.get(f"/shipments/{shipment_id}"))
    assert "cancelled: its units stay where they are" in page
    assert "Pack: scan each unit in" not in page
    assert doctor.get(f"/shipments/{shipment_id}/cancel").status_code == 302


def test_wrong_checker_passwords_pause_the_packers_dispatching(client, login, net, register, app):
    """Guessing a colleague's password at dispatch spends the packer's own signing budget."""
    doctor = login("clinician")
    shipment_id = create(doctor, net)
    pack(doctor, shipment_id, [register("ADIPOSE")])
    budget = int(app.config["SIGNING_THROTTLE"].split()[0])
    url = f"/shipments/{shipment_id}/dispatch"
    wrong = [
        doctor.post(url, data={"checked_by": "nurse", "checked_by_password": f"g{i}"}).status_code
        for i in range(budget)
    ]
    blocked = doctor.post(url, data={"checked_by": "nurse", "checked_by_password": PASSWORD})
    assert wrong == [422] * budget and blocked.status_code == 429
    assert "dispatching is paused for your account" in text_of(blocked)
    assert int(blocked.headers["Retry-After"]) > 0
    assert stored(shipment_id).status == "preparing"


def test_the_receiver_opens_a_travelling_unit_only_once_it_is_received(
    client, login, net, register
):
    login("clinician")
    shipment_id, made = dispatched(client, net, register, count=1)
    unit_link = f'href="/units/{made[0].id}"'
    assert unit_link in client.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    tech = switch(client, login, "technician")  # the lab's: the clinic's unit is not theirs yet
    page = tech.get(f"/shipments/{shipment_id}").get_data(as_text=True)
    assert unit_link not in page and made[0].eye_readable in page
    tech.post(
        f"/shipments/{shipment_id}/receive",
        data={"arrival_temperature_c": "5", "scanned": made[0].barcode_data},
    )
    assert stored(shipment_id).status == "received"
    assert unit_link in tech.get(f"/shipments/{shipment_id}").get_data(as_text=True)
