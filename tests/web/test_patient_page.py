"""The patient page: header, appointments (booked, moved and cancelled in the site's local
time by the patient's own clinician), the units as a tree and the history newest first."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Appointment
from lims.services.actions import units
from lims.services.admin import accounts
from tests.backends import backend  # noqa: F401  (SQLite alone: what the patient page shows; access is tested on both in service/test_patient_access)
from tests.service.lab import walk

from .conftest import ZONE, local_input, text_of


def later(hours: float) -> datetime:
    return datetime.now(ZoneInfo(ZONE)).replace(second=0, microsecond=0) + timedelta(hours=hours)


def rows() -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(
        select(Appointment.id, Appointment.kind, Appointment.scheduled_at, Appointment.status)
    ).all()


def test_the_page_shows_the_patient_and_their_units_as_a_tree(login, register, users):
    product = walk(register("ADIPOSE", mrn="MRN-T", name="Tara Tree"), "released", users)
    aliquot = units.perform_action(
        product.id, "split", {"aliquots": [{"volume_ml": 2}]}, users["technician"]
    ).products[0]
    source = product.parent
    response = login("technician").get(f"/patients/{product.patient.id}")
    html = response.get_data(as_text=True)
    text = text_of(response)

    assert response.status_code == 200
    for fact in ("Tara Tree", "MRN-T", "1980-05-17", "Test Clinician", product.patient.wristband):
        assert fact in text
    # source → product → aliquot, each a list item nested in its parent's
    nested = re.search(
        rf'<li data-unit="{source.id}">.*?<ul>\s*<li data-unit="{product.id}">.*?<ul>\s*'
        rf'<li data-unit="{aliquot.id}">',
        html,
        re.S,
    )
    assert nested, html[:2000]
    assert f'href="/units/{aliquot.id}"' in html
    assert "Only Test Clinician books appointments" in text  # not the technician's to book


def test_the_history_reads_newest_first(login, register, users):
    product = walk(register("ADIPOSE", mrn="MRN-H", name="Hana History"), "released", users)
    html = login("clinician").get(f"/patients/{product.patient.id}").get_data(as_text=True)
    actions = re.findall(r'<li class="event[^"]*" data-action="([a-z_]+)"', html)
    # release issues the certificate in the same transaction, so its entry is the newest
    assert actions[:2] == ["certificate_issued", "release"] and actions[-1] == "register"


def test_the_clinician_books_in_local_time_and_it_is_stored_in_utc(login, register, users):
    unit = register("ADIPOSE", mrn="MRN-B", name="Bea Booking")
    client = login("clinician")
    page = text_of(client.get(f"/patients/{unit.patient.id}"))
    assert f"When ({ZONE})" in page
    when = later(26)

    response = client.post(
        f"/patients/{unit.patient.id}/appointments/new",
        data={"kind": "injection", "scheduled_at": local_input(when), "notes": "scalp, vertex"},
    )

    assert response.status_code == 302
    ((_, kind, stored, status),) = rows()
    assert (kind, status) == ("injection", "booked")
    assert stored == when.astimezone(ZoneInfo("UTC"))
    assert "Booked the injection for Bea Booking" in text_of(client.get(response.location))


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        ({"kind": "injection", "scheduled_at": "2020-01-01T09:00"}, "the time is in the past"),
        (
            {"kind": "surgery", "scheduled_at": "{later}"},
            "Input should be 'collection' or 'injection'",
        ),
        ({"scheduled_at": "{later}"}, "Field required"),
        ({"kind": "injection", "scheduled_at": "next week"}, "Not a valid datetime value"),
        ({"kind": "injection", "scheduled_at": "{later}", "unit_id": "{unit}"}, "not the source"),
    ],
)
def test_a_refused_booking_says_why_beside_the_field_and_books_nothing(
    login, register, form, field_message
):
    unit = register("ADIPOSE", mrn="MRN-X", name="Xavier Refused")
    client = login("clinician")
    data = {
        k: local_input(later(5)) if v == "{later}" else str(unit.id) if v == "{unit}" else v
        for k, v in form.items()
    }
    response = client.post(f"/patients/{unit.patient.id}/appointments/new", data=data)
    assert response.status_code == 422
    assert field_message in text_of(response)
    assert rows() == []


def test_another_clinicians_patient_cannot_be_booked(client, register, users):
    # Since decision 61 a clinician sees only the patients they are named on: to see this
    # patient at all (and be refused booking as not their clinician), doctor2 holds an
    # admin's grant of every patient.
    doctor2 = accounts.create_user("doctor2", "clinician", "test-pass-1234", full_name="Dr Two")
    accounts.set_all_patients(doctor2, True, by=users["admin"])
    unit = register("ADIPOSE")
    client.post("/login", data={"username": "doctor2", "password": "test-pass-1234"})
    url = f"/patients/{unit.patient.id}/appointments/new"
    assert client.get(url).status_code == 403
    response = client.post(url, data={"kind": "injection", "scheduled_at": local_input(later(5))})
    assert response.status_code == 403 and "is not your patient" in text_of(response)
    assert rows() == []


def test_a_patient_the_clinician_may_not_see_cannot_be_booked_nor_found(client, register):
    accounts.create_user("doctor2", "clinician", "test-pass-1234", full_name="Dr Two")
    unit = register("ADIPOSE")
    client.post("/login", data={"username": "doctor2", "password": "test-pass-1234"})
    url = f"/patients/{unit.patient.id}/appointments/new"
    assert client.get(url).status_code == 404
    response = client.post(url, data={"kind": "injection", "scheduled_at": local_input(later(5))})
    assert response.status_code == 404
    assert f"no patient with id {unit.patient.id}" in text_of(response)
    assert unit.patient.name not in text_of(response)
    assert rows() == []


def test_the_clinician_moves_then_cancels(login, register, users):
    unit = register("ADIPOSE")
    client = login("clinician")
    client.post(
        f"/patients/{unit.patient.id}/appointments/new",
        data={"kind": "collection", "scheduled_at": local_input(later(5))},
    )
    ((appointment_id, *_),) = rows()
    url = f"/patients/{unit.patient.id}/appointments/{appointment_id}"
    moved_to = later(48)

    moved = client.post(url, data={"op": "move", "scheduled_at": local_input(moved_to)})
    assert moved.status_code == 302
    assert rows()[0][2] == moved_to.astimezone(ZoneInfo("UTC"))

    into_past = client.post(url, data={"op": "move", "scheduled_at": "2020-01-01T10:00"})
    assert into_past.status_code == 422 and "the time is in the past" in text_of(into_past)
    assert rows()[0][2] == moved_to.astimezone(ZoneInfo("UTC"))

    assert client.post(url, data={"op": "cancel"}).status_code == 302
    assert rows()[0][3] == "cancelled"
    again = client.post(url, data={"op": "cancel"})
    assert again.status_code == 409 and "only a booked one can be changed" in text_of(again)
    assert client.post(url, data={"op": "explode"}).status_code == 400


def test_the_clinician_marks_an_appointment_done_when_it_is_due(login, register, users):
    unit = register("ADIPOSE")
    client = login("clinician")
    for hours in (5, 1):
        client.post(
            f"/patients/{unit.patient.id}/appointments/new",
            data={"kind": "collection", "scheduled_at": local_input(later(hours))},
        )
    (far, _, _, _), (near, _, _, _) = sorted(rows(), key=lambda r: r[2], reverse=True)

    early = client.post(f"/patients/{unit.patient.id}/appointments/{far}", data={"op": "done"})
    assert early.status_code == 409 and "still to come" in text_of(early)
    done = client.post(f"/patients/{unit.patient.id}/appointments/{near}", data={"op": "done"})
    assert done.status_code == 302
    assert {r[0]: r[3] for r in rows()} == {far: "booked", near: "done"}
    page = text_of(client.get(f"/patients/{unit.patient.id}"))
    assert "done" in page


@pytest.mark.parametrize("url", ["/patients/424242", "/patients/99999999999"])
def test_an_unknown_patient_is_404(login, url):
    assert login("qa").get(url).status_code == 404


def test_an_appointment_of_another_patient_is_404(login, register, users):
    first = register("ADIPOSE", mrn="MRN-1", name="Pat Example")
    second = register("ADIPOSE", mrn="MRN-2", name="Other Person")
    booked = appointments_for(first, users)
    response = login("clinician").get(f"/patients/{second.patient.id}/appointments/{booked}")
    assert response.status_code == 404


def appointments_for(unit, users) -> int:
    from lims.services.clinic import appointments

    when = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).isoformat()
    return appointments.book(
        unit.patient.id, {"kind": "injection", "scheduled_at": when}, users["clinician"]
    ).id
