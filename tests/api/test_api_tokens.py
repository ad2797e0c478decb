"""Signing in to the API: tokens, wrong credentials, throttling and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: tokens over HTTP; every API test on both backends signs in with one)
from tests.conftest import PASSWORD, USERNAMES

from .helpers import assert_error


def _sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/tokens", json={"username": username, "password": password})


@pytest.mark.parametrize("role", sorted(USERNAMES))
def test_signing_in_returns_a_token_for_the_user(client, users, role):
    response = _sign_in(client, USERNAMES[role])
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 40
    assert body["user"] == {
        "id": users[role].id,
        "username": USERNAMES[role],
        "role": role,
        "name": users[role].full_name,
    }
    expires = datetime.fromisoformat(body["expires_at"])
    assert body["expires_at"].endswith("Z")
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/units", headers=headers).status_code == 200


def test_the_username_is_not_case_sensitive(client, users):
    assert _sign_in(client, "  TECH ").status_code == 201


@pytest.mark.parametrize(
    ("username", "password"),
    [("tech", "wrong-password"), ("nobody", PASSWORD), ("tech", PASSWORD.upper()), ("tech", " ")],
)
def test_wrong_credentials_get_401(client, users, username, password):
    error = assert_error(_sign_in(client, username, password), 401, "invalid_credentials")
    assert error["message"] == "unknown username or wrong password"


@pytest.mark.req("P11-11")
def test_a_deactivated_user_cannot_sign_in(client, users):
    from lims.extensions import db

    users["qa"].active = False
    db.session.commit()
    assert_error(_sign_in(client, "qa"), 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "tech"}, 422),
        ({"password": PASSWORD}, 422),
        ({"username": 5, "password": PASSWORD}, 422),
        ({"username": "tech", "password": ["x"]}, 422),
        ({"username": "tech", "password": PASSWORD, "role": "admin"}, 422),
        ({"username": "x" * 10_000, "password": PASSWORD}, 422),
        ({"username": "tech\u0000", "password": PASSWORD}, 422),
        ([], 400),
        ("tech", 400),
        (0, 400),
    ],
)
def test_a_malformed_sign_in_is_refused(client, users, body, status):
    assert_error(client.post("/api/v1/tokens", json=body), status)


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ("", "application/json", 400),
        ("null", "application/json", 400),
        ('{"username": "tech", "password": NaN}', "application/json", 400),
        ("username=tech&password=x", "application/x-www-form-urlencoded", 415),
        ('{"username": "tech"}', "text/plain", 415),
    ],
)
def test_a_sign_in_that_is_not_json_is_refused(client, users, data, content_type, status):
    response = client.post("/api/v1/tokens", data=data, content_type=content_type)
    assert_error(response, status)


class TestThrottling:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_THROTTLE": "3 per 15 minutes"}

    def test_repeated_failures_are_throttled_with_429(self, client, users):
        for _ in range(3):
            assert_error(_sign_in(client, "tech", "wrong-password"), 401)
        error = assert_error(_sign_in(client, "tech", "wrong-password"), 429, "too_many_requests")
        assert "too many failed sign-ins" in error["message"].lower()
        assert_error(_sign_in(client, "tech"), 429)  # even the right password, for now

    def test_successful_sign_ins_are_not_counted(self, client, users):
        for _ in range(5):
            assert _sign_in(client, "tech").status_code == 201
        assert_error(_sign_in(client, "tech", "wrong-password"), 401)


class TestExpiry:
    @pytest.fixture
    def app_config(self):
        return {"API_TOKEN_HOURS": 0}

    def test_an_expired_token_is_refused(self, client, users):
        response = _sign_in(client, "tech")
        assert response.status_code == 201
        headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
        assert_error(client.get("/api/v1/units", headers=headers), 401, "unauthorized")


def test_web_and_api_sign_ins_share_one_failure_budget(app, client, users):
    app.config["LOGIN_THROTTLE"] = "3 per minute"
    for _ in range(2):
        assert (
            client.post("/login", data={"username": "tech", "password": "nope-nope"}).status_code
            == 401
        )
    assert _sign_in(client, "tech", "wrong-password").status_code == 401
    assert _sign_in(client, "tech", "wrong-password").status_code == 429
