"""GET /api/v1/readiness (the caller's board as JSON) and the appointments API: booking,
moving and cancelling, and every kind of bad request refused in the one error shape with
nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lims.api.readiness_schemas import ReadinessOut, UnitReadinessOut
from lims.extensions import db
from lims.models import Appointment
from lims.models.types import utcnow
from lims.services.admin import accounts
from tests.backends import backend  # noqa: F401  (SQLite alone: the readiness API's answers; the board is tested on both in service/test_readiness)
from tests.service.lab import walk

from .helpers import assert_error


def soon(hours: float = 3) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def appointment_rows() -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(
        select(Appointment.id, Appointment.status, Appointment.scheduled_at)
    ).all()


def test_the_board_as_json_names_status_readiness_countdown_and_warnings(api, register, users):
    product = walk(register("ADIPOSE", mrn="MRN-J", name="Jo Json"), "released", users)
    booked = api.post(
        f"/patients/{product.patient.id}/appointments",
        {
            "kind": "injection",
            "scheduled_at": (product.expires_at + timedelta(hours=1)).isoformat(),
        },
        as_="clinician",
    )
    assert booked.status_code == 201, booked.get_json()

    response = api.get("/readiness", as_="clinician")

    assert response.status_code == 200
    board = response.get_json()
    (patient,) = board["patients"]
    assert patient["name"] == "Jo Json"
    assert patient["next_appointment"]["id"] == booked.get_json()["id"]
    (unit,) = patient["units"]
    assert unit["id"] == product.id and unit["ready"] is True
    assert unit["words"].startswith("Ready for injection — usable until ")
    assert unit["counts_down_to"].endswith("Z") and 0 < unit["seconds_left"] <= 24 * 3600
    assert [w["code"] for w in unit["warnings"]] == ["expires_before_appointment"]
    assert board["clinician"]["id"] == users["clinician"].id
    # the answer is what its schema says it is, field for field
    assert ReadinessOut.model_validate(board).model_dump(mode="json") == board


def test_a_unit_at_the_lab_carries_its_estimate(api, register):
    unit = register("ADIPOSE", mrn="MRN-E", name="Eve Estimate")
    (line,) = api.get("/readiness", as_="clinician").get_json()["patients"][0]["units"]
    assert line["id"] == unit.id
    assert line["estimate"]["product_type"] == "SVF"
    assert line["estimate"]["at"] is None and line["estimate"]["words"].startswith(
        "no estimate yet"
    )
    assert UnitReadinessOut.model_validate(line).model_dump(mode="json") == line


def test_qa_sees_a_chosen_clinicians_board(api, register, users):
    register("ADIPOSE", mrn="MRN-Q", name="Quentin Board")
    response = api.get(f"/readiness?clinician={users['clinician'].id}", as_="qa")
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()["patients"]] == ["Quentin Board"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("clinician=abc", 422),
        ("clinician=99999999999", 422),
        ("clinician=424242", 404),
        ("x=1", 422),
    ],
)
def test_a_bad_board_query_is_refused(api, query, status):
    assert_error(api.get(f"/readiness?{query}", as_="qa"), status)


def test_a_due_appointment_is_marked_done_once_and_leaves_the_board(api, register, users):
    unit = register("ADIPOSE")
    made = api.post(
        f"/patients/{unit.patient.id}/appointments",
        {"kind": "injection", "scheduled_at": soon(1)},
        as_="clinician",
    ).get_json()
    assert_error(api.post(f"/appointments/{made['id']}/done", as_="qa"), 403)

    def on_board() -> list[int]:
        board = api.get("/readiness", as_="clinician").get_json()
        return [a["id"] for row in board["patients"] for a in row["appointments"]]

    assert made["id"] in on_board()
    done = api.post(f"/appointments/{made['id']}/done", as_="clinician")

    assert done.status_code == 200 and done.get_json()["status"] == "done"
    assert_error(api.post(f"/appointments/{made['id']}/done", as_="clinician"), 409, "not_booked")
    assert made["id"] not in on_board()


def test_a_far_appointment_is_not_yet_done(api, register):
    unit = register("ADIPOSE")
    made = api.post(
        f"/patients/{unit.patient.id}/appointments",
        {"kind": "collection", "scheduled_at": soon(3)},
        as_="clinician",
    ).get_json()
    assert_error(api.post(f"/appointments/{made['id']}/done", as_="clinician"), 409, "not_yet")


def test_a_clinician_moves_and_cancels_their_appointment(api, register):
    unit = register("ADIPOSE")
    made = api.post(
        f"/patients/{unit.patient.id}/appointments",
        {"kind": "collection", "scheduled_at": soon(3), "notes": "fasting"},
        as_="clinician",
    ).get_json()
    moved = api.post(
        f"/appointments/{made['id']}/move", {"scheduled_at": soon(30)}, as_="clinician"
    )
    assert moved.status_code == 200 and moved.get_json()["scheduled_at"] != made["scheduled_at"]
    cancelled = api.post(f"/appointments/{made['id']}/cancel", as_="clinician")
    assert cancelled.get_json()["status"] == "cancelled"
    assert_error(api.post(f"/appointments/{made['id']}/cancel", as_="clinician"), 409, "not_booked")
    assert_error(
        api.post(f"/appointments/{made['id']}/move", {"scheduled_at": soon(5)}, as_="clinician"),
        409,
        "not_booked",
    )


BAD_BOOKINGS = {
    "time in the past": ({"kind": "injection", "scheduled_at": "2020-01-01T09:00:00+01:00"}, 422),
    "time without a zone": ({"kind": "injection", "scheduled_at": "2030-01-01T09:00:00"}, 422),
    "time far ahead": ({"kind": "injection", "scheduled_at": "2099-01-01T09:00:00+00:00"}, 422),
    "time beyond the calendar": (
        {"kind": "injection", "scheduled_at": "9999-12-31T23:59:00-12:00"},
        422,
    ),
    "time as garbage": ({"kind": "injection", "scheduled_at": "tomorrow-ish"}, 422),
    "bad kind": ({"kind": "surgery", "scheduled_at": "{soon}"}, 422),
    "no kind": ({"scheduled_at": "{soon}"}, 422),
    "unknown field": ({"kind": "injection", "scheduled_at": "{soon}", "room": 4}, 422),
    "unknown unit": ({"kind": "injection", "scheduled_at": "{soon}", "unit_id": 424242}, 422),
    "huge unit id": ({"kind": "injection", "scheduled_at": "{soon}", "unit_id": 10**30}, 422),
    "unit on a collection": (
        {"kind": "collection", "scheduled_at": "{soon}", "unit_id": "{unit}"},
        422,
    ),
    "source as the product": (
        {"kind": "injection", "scheduled_at": "{soon}", "unit_id": "{unit}"},
        422,
    ),
    "control characters": ({"kind": "injection", "scheduled_at": "{soon}", "notes": "a\x00b"}, 422),
    "not an object": ([1, 2], 400),
}


@pytest.mark.parametrize("case", BAD_BOOKINGS)
def test_a_bad_booking_is_refused_and_books_nothing(api, register, case):
    unit = register("ADIPOSE")
    body, status = BAD_BOOKINGS[case]
    if isinstance(body, dict):
        body = {
            k: (soon() if v == "{soon}" else unit.id if v == "{unit}" else v)
            for k, v in body.items()
        }
    before = appointment_rows()
    response = api.post(f"/patients/{unit.patient.id}/appointments", body, as_="clinician")
    assert_error(response, status)
    assert appointment_rows() == before


def test_booking_for_an_unknown_patient_is_404(api, users):
    body = {"kind": "injection", "scheduled_at": soon()}
    assert_error(api.post("/patients/424242/appointments", body, as_="clinician"), 404)
    assert appointment_rows() == []


def _doctor2_headers(api, users, *, all_patients: bool) -> dict[str, str]:
    """A second clinician's token; with ``all_patients`` an admin granted them every patient."""
    doctor2 = accounts.create_user("doctor2", "clinician", "test-pass-1234", full_name="Dr Two")
    if all_patients:
        accounts.set_all_patients(doctor2, True, by=users["admin"])
    response = api.client.post(
        "/api/v1/tokens", json={"username": "doctor2", "password": "test-pass-1234"}
    )
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_booking_for_a_patient_seen_but_not_treated_is_403(api, register, users):
    # Since decision 61 a clinician sees only their own patients: this one may see every
    # patient (an admin's grant), which still does not make them the treating clinician.
    unit = register("ADIPOSE")  # the test clinician's patient
    headers = _doctor2_headers(api, users, all_patients=True)
    refused = api.client.post(
        f"/api/v1/patients/{unit.patient.id}/appointments",
        json={"kind": "injection", "scheduled_at": soon()},
        headers=headers,
    )
    assert_error(refused, 403, "not_your_patient")
    assert appointment_rows() == []


def test_booking_for_a_patient_not_seen_is_404_like_no_patient(api, register, users):
    unit = register("ADIPOSE")  # the test clinician's patient
    headers = _doctor2_headers(api, users, all_patients=False)
    refused = api.client.post(
        f"/api/v1/patients/{unit.patient.id}/appointments",
        json={"kind": "injection", "scheduled_at": soon()},
        headers=headers,
    )
    unknown = api.client.post(
        "/api/v1/patients/999999/appointments",
        json={"kind": "injection", "scheduled_at": soon()},
        headers=headers,
    )
    assert_error(refused, 404, "not_found")
    assert refused.get_json()["error"]["message"] == f"no patient with id {unit.patient.id}"
    assert unknown.get_json()["error"]["message"] == "no patient with id 999999"
    assert appointment_rows() == []


def test_a_double_submit_books_once(api, register):
    unit = register("ADIPOSE")
    body = {"kind": "injection", "scheduled_at": soon()}
    first = api.post(f"/patients/{unit.patient.id}/appointments", body, as_="clinician")
    again = api.post(f"/patients/{unit.patient.id}/appointments", body, as_="clinician")
    assert first.status_code == 201
    assert_error(again, 409, "already_booked")
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
