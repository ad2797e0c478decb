"""Sessions end when idle, and signing out ends them at once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: the session cookie's idle limit)
from tests.conftest import PASSWORD


@pytest.fixture
def app_config():
    return {"PERMANENT_SESSION_LIFETIME": timedelta(seconds=1)}


@pytest.mark.req("A11-4")
def test_an_idle_session_ends_and_asks_to_sign_in_again(client, login):
    login("technician")
    assert client.get("/units/").status_code == 200

    time.sleep(2.1)

    response = client.get("/units/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_signing_out_ends_the_session(client, login):
    login("technician")
    assert client.post("/logout").status_code == 302
    response = client.get("/units/")
    assert response.status_code == 302 and "/login" in response.location


def test_activity_keeps_the_session_alive_past_its_idle_limit(app, client, login):
    app.permanent_session_lifetime = timedelta(seconds=2)
    login("technician")
    for _ in range(8):  # 4 s of work, never idle for 2 s
        time.sleep(0.5)
        assert client.get("/units/").status_code == 200


@pytest.mark.parametrize("app_config", [{"PROXY_COUNT": 1}])
def test_behind_a_proxy_failed_sign_ins_count_per_client_address(app, client, users):
    """The address budget counts the client's address, not the proxy's. (Each failure
    names another username, so only the address budget is spent.)"""
    app.config["LOGIN_ADDRESS_THROTTLE"] = "2 per minute"

    def fail(address: str, username: str) -> int:
        return client.post(
            "/login",
            data={"username": username, "password": "wrong-password"},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert [fail("10.0.0.1", name) for name in ("ann", "bob", "cy")] == [401, 401, 429]
    assert fail("10.0.0.2", "dee") == 401  # another bench is not locked out


def test_signing_in_starts_a_new_session(client, users):
    """Nothing planted in the session cookie before sign-in (a session fixation) survives
    into the signed-in session."""
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by whoever handed over this browser"
        before["csrf_token"] = "a token the planter knows"
    planted_cookie = client.get_cookie("session").value

    response = client.post("/login", data={"username": "tech", "password": PASSWORD})

    assert response.status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("csrf_token") != "a token the planter knows"
        assert after["_user_id"].startswith(f"{users['technician'].id}:")
    assert client.get_cookie("session").value != planted_cookie


@pytest.mark.parametrize(
    ("path", "anonymous"), [("/api/v1/units", 401), ("/fhir/Patient", 401), ("/fhir/metadata", 200)]
)
def test_a_request_signed_in_by_token_neither_reads_nor_sets_a_session_cookie(
    client, login, token, path, anonymous
):
    """The API and FHIR sign in by bearer token only: a page's session cookie sent along
    signs nobody in there, and their answers set no cookie (FHIR's used to: decision 115)."""
    login("technician")  # the client now holds a page session's cookie
    alone = client.get(path)  # the cookie alone is nobody there
    assert alone.status_code == anonymous and "Set-Cookie" not in alone.headers
    response = client.get(path, headers=token("technician"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["/api/v1/units", "/fhir/Patient"])
def test_a_remember_me_cookie_sent_to_the_api_is_ignored(client, users, token, path):
    """Flask-Login reads a remember-me cookie before the request loader; under the token paths
    only the bearer token counts (``TokenAwareLoginManager``): the cookie signs nobody in
    and the answer is the token's, never an error from writing the empty session."""
    client.set_cookie("remember_token", f"{users['qa'].id}|forged")
    assert client.get(path).status_code == 401
    response = client.get(path, headers=token("technician"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_writing_to_the_session_of_a_token_request_is_refused(app):
    """A programming error said as such, never a cookie quietly set on an API answer."""
    from flask import session

    with app.test_request_context("/api/v1/units"):
        assert not session
        with pytest.raises(RuntimeError, match="no session to write to"):
            session["user_id"] = 1
