"""A page's own polling is not use: a readiness board or a job's page left alone signs out
after the idle time like any other page (its poll then gets 401, and the page's reload goes
to the sign-in page), or, with BOARD_IDLE_MODE = "anonymous", the board keeps refreshing
without patient names. Time moves with time-machine; the browser sends X-Background: 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from lims import create_app
from lims.services.admin import accounts
from tests.backends import backend  # noqa: F401  (SQLite alone: the idle board's refresh and anonymity)
from tests.rows import a_job

from .conftest import ZONE

POLL = {"X-Background": "1"}
IDLE = timedelta(minutes=15)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": ZONE, "PERMANENT_SESSION_LIFETIME": IDLE}


@pytest.fixture
def clock():
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def ritas_board(client, login, register, clock):
    """The clinician signed in, with Rita's collection on the board."""
    register("ADIPOSE", mrn="MRN-RITA", name="Rita Ready")
    login("clinician")
    page = client.get("/readiness/").get_data(as_text=True)
    assert "Rita Ready" in page
    return client


def poll(client, url: str = "/readiness/fragment"):
    return client.get(url, headers=POLL)


def left_alone(client, clock) -> None:
    """Sixteen minutes of a board refreshing itself with nobody touching it."""
    for _ in range(8):
        clock.shift(timedelta(minutes=2))
        poll(client)


@pytest.mark.req("A11-4")
def test_the_boards_refresh_does_not_keep_the_session_alive(ritas_board, clock):
    clock.shift(timedelta(minutes=10))
    assert poll(ritas_board).status_code == 200
    clock.shift(timedelta(minutes=6))  # 16 minutes since the clinician last did anything

    answer = poll(ritas_board)
    assert answer.status_code == 401  # not a redirect: the script reloads the page
    assert "Rita Ready" not in answer.get_data(as_text=True)

    page = ritas_board.get("/readiness/")
    assert page.status_code == 302 and "/login" in page.location
    assert "next=%2Freadiness%2F" in page.location


@pytest.mark.parametrize("polled", [True, False])
def test_the_sign_in_page_says_why(ritas_board, clock, polled):
    if polled:  # the board refreshed meanwhile; else the session's cookie ran out by itself
        clock.shift(timedelta(minutes=10))
        poll(ritas_board)
        clock.shift(timedelta(minutes=6))
    else:
        clock.shift(IDLE + timedelta(minutes=1))
    assert ritas_board.get("/readiness/").status_code == 302
    sign_in = ritas_board.get("/login").get_data(as_text=True)
    assert "Signed out after 15 minutes without use" in sign_in


def test_a_person_at_work_stays_signed_in_while_the_board_refreshes(ritas_board, clock):
    for _ in range(3):
        clock.shift(timedelta(minutes=10))
        assert poll(ritas_board).status_code == 200
        assert ritas_board.get("/units/").status_code == 200  # a person's request
    clock.shift(timedelta(minutes=10))
    assert "Rita Ready" in poll(ritas_board).get_data(as_text=True)


def test_an_old_style_refresh_without_the_mark_still_counts_as_use(ritas_board, clock):
    """Only the page's own script marks its polls; a person opening the fragment is use."""
    clock.shift(timedelta(minutes=10))
    assert ritas_board.get("/readiness/fragment").status_code == 200
    clock.shift(timedelta(minutes=10))
    assert poll(ritas_board).status_code == 200


def test_the_job_progress_poll_does_not_keep_the_session_alive(client, login, users, clock):
    job = a_job(users["qa"])
    login("qa")
    assert client.get(f"/audit/jobs/{job}").status_code == 200
    clock.shift(timedelta(minutes=10))
    assert poll(client, f"/audit/jobs/{job}.json").status_code == 200
    clock.shift(timedelta(minutes=6))
    assert poll(client, f"/audit/jobs/{job}.json").status_code == 401


# ---------------------------------------------------------------------------- anonymous


@pytest.mark.parametrize(
    "app_config", [{"PERMANENT_SESSION_LIFETIME": IDLE, "BOARD_IDLE_MODE": "anonymous"}]
)
class TestWithoutNames:
    def test_an_idle_board_keeps_refreshing_without_names(self, ritas_board, clock):
        left_alone(ritas_board, clock)
        masked = poll(ritas_board)
        assert masked.status_code == 200
        body = masked.get_data(as_text=True)
        assert "data-masked" in body and "Names hidden" in body
        assert "Rita Ready" not in body and "MRN-RITA" not in body
        assert "/patients/" not in body  # no way to the patient's page
        assert "rb-unit" in body  # the units and their state remain

        for _ in range(4):  # an hour more on the wall
            clock.shift(timedelta(minutes=14))
            again = poll(ritas_board).get_data(as_text=True)
            assert "data-masked" in again and "Rita Ready" not in again

    def test_everything_else_asks_to_sign_in(self, ritas_board, clock):
        left_alone(ritas_board, clock)
        assert poll(ritas_board).status_code == 200
        for page in ("/readiness/", "/units/", "/patients/1"):
            answer = ritas_board.get(page)
            assert answer.status_code == 302 and "/login" in answer.location, page

    def test_signing_out_ends_the_nameless_board_too(self, ritas_board, clock):
        left_alone(ritas_board, clock)
        assert poll(ritas_board).status_code == 200
        ritas_board.post("/logout")
        assert poll(ritas_board).status_code == 401

    def test_a_new_password_ends_the_nameless_board(self, ritas_board, clock, users):
        left_alone(ritas_board, clock)
        assert poll(ritas_board).status_code == 200
        accounts.reset_password(users["clinician"], "a-new-pass-9876", by=users["admin"])
        assert poll(ritas_board).status_code == 401

    def test_a_board_in_use_shows_names(self, ritas_board, clock):
        clock.shift(timedelta(minutes=10))
        assert "Rita Ready" in poll(ritas_board).get_data(as_text=True)


def test_the_board_idle_mode_is_one_of_two(database_url):
    with pytest.raises(RuntimeError, match="BOARD_IDLE_MODE"):
        create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, BOARD_IDLE_MODE="blank")
