"""The readiness board in the browser's terms: what a clinician reads (plain words, READY,
the countdown the server renders and the script ticks, the warning of a late injection),
the fragment the script swaps in, and bad parameters refused with a message, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from lims.services.clinic import appointments
from tests.backends import backend  # noqa: F401  (SQLite alone: the board's page; the board is tested on both in service/test_readiness)
from tests.service.lab import walk

from .conftest import text_of


def book(users, unit, at, kind="injection"):
    return appointments.book(
        unit.patient.id, {"kind": kind, "scheduled_at": at.isoformat()}, users["clinician"]
    )


def test_the_clinician_reads_a_ready_product_and_its_countdown(login, register, users):
    product = walk(register("ADIPOSE", mrn="MRN-R", name="Rita Ready"), "released", users)
    client = login("clinician")

    response = client.get("/readiness/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = text_of(response)
    assert "Rita Ready" in text and "✓ READY" in text
    assert "Ready for injection — usable until " in text
    assert f'data-expires="{product.expires_at.isoformat()}"' in html
    assert re.search(r"\b2[34] h \d\d min left", text)  # the server's countdown, before any JS
    assert f'href="/patients/{product.patient.id}"' in html
    assert "js/board.js" in html and 'http-equiv="refresh"' in html  # script, and no-JS refresh


def test_an_injection_after_the_expiry_is_a_warning_on_the_board(login, register, users):
    product = walk(register("ADIPOSE", mrn="MRN-L", name="Lena Late"), "released", users)
    book(users, product, product.expires_at + timedelta(hours=3))
    text = text_of(login("clinician").get("/readiness/"))
    assert "is after this product expires" in text
    assert "1 warning" in text


def test_the_fragment_is_the_board_alone_and_never_cached(login, register):
    register("ADIPOSE", mrn="MRN-F", name="Fritz Fragment")
    response = login("clinician").get("/readiness/fragment")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Fritz Fragment" in html and "<html" not in html
    assert "At the lab" not in html and "Collected — not yet sent to the lab" in html


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/readiness/?clinician=abc", 422, "clinician must be a clinician's id"),
        ("/readiness/?clinician=424242", 404, "no clinician with id 424242"),
        ("/readiness/?colour=red", 400, "unknown parameter: colour"),
        ("/readiness/fragment?clinician=%00", 422, "clinician must be a clinician's id"),
    ],
)
def test_bad_parameters_get_a_message_not_a_500(login, url, status, words):
    response = login("qa").get(url)
    assert response.status_code == status
    assert words in text_of(response)


def test_a_clinician_cannot_open_another_clinicians_board(login, users):
    response = login("clinician").get(f"/readiness/?clinician={users['qa'].id}")
    assert response.status_code == 403
    assert "own board only" in text_of(response)


def test_qa_chooses_a_clinician(login, register, users):
    register("ADIPOSE", mrn="MRN-C", name="Carla Choice")
    response = login("qa").get(f"/readiness/?clinician={users['clinician'].id}")
    text = text_of(response)
    assert response.status_code == 200 and "Carla Choice" in text
    assert "Every clinician's patients" in text  # the choice of board


def test_the_nav_leads_the_clinician_home_to_the_board(login):
    client = login("clinician")
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/readiness/")
