"""Throttling of passwords with the limiter's counters in Redis (as in production).

Failed sign-ins count against the username tried (known or not) and, with a larger budget,
against the address; wrong passwords typed again to sign count only against the signer's
own signing. A spent budget answers 429 with Retry-After; a correct password never counts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.globals import app_ctx
from flask.testing import FlaskClient

from lims import create_app
from lims.extensions import limiter

PASSWORD = "test-pass-1234"


@pytest.fixture
def app_config(redis_url) -> dict:
    return {
        "RATELIMIT_STORAGE_URI": redis_url,
        "LOGIN_THROTTLE": "3 per minute",
        "LOGIN_ADDRESS_THROTTLE": "20 per minute",
        "SIGNING_THROTTLE": "3 per minute",
        "PROXY_COUNT": 1,  # the tests name the client's address in X-Forwarded-For
    }


@pytest.fixture
def client(app: Flask, users) -> Iterator[FlaskClient]:
    """Each request in its own app context, as in production. (The ``app`` fixture keeps a
    context pushed and Flask reuses it for test requests, so ``g`` — where Flask-Login
    keeps the signed-in user — would leak from one request into the next.)"""
    context = app_ctx._get_current_object()
    context.pop()
    try:
        yield app.test_client()
    finally:
        context.push()


def sign_in(client, password: str, username: str = "tech", address: str = "10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


def status(client, password: str, username: str = "tech", address: str = "10.0.0.1") -> int:
    response = sign_in(client, password, username, address)
    if response.status_code == 302:
        client.post("/logout", headers={"X-Forwarded-For": address})
    return response.status_code


def test_the_limiter_keeps_its_counters_in_redis(app, redis_url):
    assert type(limiter.storage).__name__.lower().startswith("redis")


@pytest.mark.parametrize("name", ["LOGIN_THROTTLE", "LOGIN_ADDRESS_THROTTLE", "SIGNING_THROTTLE"])
def test_a_budget_that_is_not_a_list_of_limits_stops_the_start(name):
    """Not a 500 at the first sign-in: the app does not start, and says which setting."""
    with pytest.raises(RuntimeError, match=name):
        create_app("testing", **{name: "five a minute"})


@pytest.mark.req("P11-11")
def test_the_fourth_failed_sign_in_is_throttled(client):
    assert [status(client, "wrong-password") for _ in range(3)] == [401, 401, 401]
    assert status(client, "wrong-password") == 429
    assert status(client, PASSWORD) == 429  # throttled means throttled, even when right


def test_a_correct_password_is_not_counted_as_a_failure(client):
    assert [status(client, "wrong-password") for _ in range(2)] == [401, 401]
    assert status(client, PASSWORD) == 302
    assert status(client, PASSWORD) == 302
    assert status(client, "wrong-password") == 401  # still only the third failure
    assert status(client, "wrong-password") == 429


def test_one_persons_failures_do_not_stop_a_colleague_at_the_same_address(client):
    """Everyone on a ward signs in through the hospital's proxy: one address."""
    assert [status(client, "wrong-password") for _ in range(4)] == [401, 401, 401, 429]

    assert status(client, PASSWORD, username="qa") == 302
    assert status(client, "wrong-password", username="doctor") == 401  # counted for doctor


@pytest.mark.req("P11-11")
def test_the_accounts_own_budget_stops_it_from_every_address(client):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert status(client, "wrong-password", address=address) == 401

    assert status(client, PASSWORD, address="10.9.9.9") == 429
    assert status(client, PASSWORD, username=" TECH ", address="10.9.9.9") == 429  # as typed


def test_a_locked_account_is_told_how_long_to_wait(client):
    for _ in range(3):
        sign_in(client, "wrong-password")

    page = sign_in(client, PASSWORD)
    api = client.post(
        "/api/v1/tokens",
        json={"username": "tech", "password": PASSWORD},
        headers={"X-Forwarded-For": "10.0.0.1"},
    )

    for response in (page, api):
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 60
    html = page.get_data(as_text=True)
    assert "Too many failed sign-ins for this username; try again in 1 minute." in html
    assert 'name="username"' in html  # the sign-in form, not an error page
    error = api.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"] == "Too many failed sign-ins for this username; try again in 1 minute."


def test_an_unknown_username_is_throttled_like_a_known_one(client):
    def answers(username: str) -> list:
        out = []
        for _ in range(4):
            response = client.post(
                "/api/v1/tokens",
                json={"username": username, "password": "wrong-password"},
                headers={"X-Forwarded-For": "10.0.0.1"},
            )
            out.append((response.status_code, response.get_json()))
        return out

    assert answers("tech") == answers("nobody-here")


def test_the_web_login_and_the_api_share_each_accounts_budget(client):
    assert status(client, "wrong-password") == 401
    for _ in range(2):
        response = client.post(
            "/api/v1/tokens",
            json={"username": "tech", "password": "wrong-password"},
            headers={"X-Forwarded-For": "10.0.0.1"},
        )
        assert response.status_code == 401
    assert status(client, PASSWORD) == 429


def test_one_address_spraying_many_usernames_is_stopped(app, client):
    app.config["LOGIN_ADDRESS_THROTTLE"] = "4 per minute"
    tried = [status(client, "Winter2024!", username=f"guess-{n}") for n in range(5)]

    assert tried == [401, 401, 401, 401, 429]
    assert status(client, PASSWORD) == 429  # the address, whoever signs in from it
    assert status(client, PASSWORD, address="10.0.0.2") == 302  # another address is not


def test_the_wait_grows_as_failures_go_on(app, client):
    # The short window is long enough that a busy machine's slow requests stay inside it
    # (with two seconds, three sign-ins on a loaded machine once outlasted it).
    app.config["LOGIN_THROTTLE"] = "2 per 4 seconds; 3 per minute"
    assert [status(client, "wrong-password") for _ in range(3)] == [401, 401, 429]
    first_wait = int(sign_in(client, PASSWORD).headers["Retry-After"])

    time.sleep(4.2)  # the short window has passed
    assert status(client, "wrong-password") == 401  # the third failure this minute
    blocked = sign_in(client, PASSWORD)

    assert blocked.status_code == 429
    assert first_wait <= 4 < int(blocked.headers["Retry-After"]) <= 60


# ---------------------------------------------------------------------------- signing


@pytest.fixture
def products(unit_in, users) -> list[tuple[int, int]]:
    """Two products in quarantine with passing QC, ready for release, as (id, version)
    (made before ``client`` leaves the app context), and a second QA to release one."""
    from lims.services.admin import accounts

    from .lab import pass_all_qc

    accounts.create_user("qa2", "qa", PASSWORD, full_name="Second QA")
    made = [unit_in("quarantine"), unit_in("quarantine")]
    for product in made:
        pass_all_qc(product, users["technician"])
    return [(product.id, product.version) for product in made]


def token_for(client, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/tokens",
        json={"username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": "10.0.0.1"},
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def release(client, product: tuple[int, int], token: dict, password: str):
    unit_id, version = product
    body = {
        "action": "release",
        "version": version,
        "password": password,
        "meaning": "approved for release",
    }
    return client.post(f"/api/v1/units/{unit_id}/actions", json=body, headers=token)


def test_wrong_signature_passwords_pause_only_that_persons_signing(products, client):
    first, second = products
    qa = token_for(client, "qa")

    wrong = [release(client, first, qa, f"guess-{n}").status_code for n in range(3)]
    blocked = release(client, first, qa, PASSWORD)

    assert wrong == [422, 422, 422]
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "signing with your account is paused" in blocked.get_json()["error"]["message"]
    # Not the person's own sign-in, not the address, not a colleague's signing:
    assert status(client, PASSWORD, username="qa") == 302
    assert status(client, PASSWORD, username="tech") == 302
    assert release(client, second, token_for(client, "qa2"), PASSWORD).status_code == 200


def test_failed_sign_ins_do_not_pause_the_persons_signing(products, client):
    """Someone trying QA's password at the door does not stop QA releasing at the bench."""
    qa = token_for(client, "qa")
    for _ in range(4):
        sign_in(client, "wrong-password", username="qa")

    assert release(client, products[0], qa, PASSWORD).status_code == 200


# ---------------------------------------------------------------------------- Redis down


@pytest.fixture
def forget_the_fallback() -> Iterator[None]:
    """Afterwards the process goes back to Redis and forgets what it counted meanwhile."""
    from lims import security

    yield
    security._storage_down_until = 0.0
    security._FALLBACK.storage.reset()


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "LOGIN_THROTTLE": "3 per minute"}],
)
def test_with_redis_unreachable_failures_are_counted_in_memory(forget_the_fallback, client):
    assert [status(client, "wrong-password") for _ in range(4)] == [401, 401, 401, 429]
    assert status(client, PASSWORD, username="qa") == 302  # no 500 for anyone
