"""Login throttling with the limiter's counters in Redis (as in production): repeated failed
sign-ins are refused with 429; a correct password does not count as a failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.globals import app_ctx
from flask.testing import FlaskClient

from lims.extensions import limiter

PASSWORD = "test-pass-1234"


@pytest.fixture
def app_config(redis_url) -> dict:
    return {"RATELIMIT_STORAGE_URI": redis_url, "LOGIN_THROTTLE": "3 per minute"}


@pytest.fixture
def client(app: Flask, users) -> Iterator[FlaskClient]:
    """Each request in its own app context, as in production. (The ``app`` fixture keeps a
    context pushed and Flask reuses it for test requests, so ``g`` — where the login route
    notes a failure — would leak from one request into the next.)"""
    context = app_ctx._get_current_object()
    context.pop()
    try:
        yield app.test_client()
    finally:
        context.push()


def sign_in(client, password: str) -> int:
    return client.post("/login", data={"username": "tech", "password": password}).status_code


def test_the_limiter_keeps_its_counters_in_redis(app, redis_url):
    assert type(limiter.storage).__name__.lower().startswith("redis")


def test_the_fourth_failed_sign_in_is_throttled(client):
    assert [sign_in(client, "wrong-password") for _ in range(3)] == [401, 401, 401]
    assert sign_in(client, "wrong-password") == 429
    assert sign_in(client, PASSWORD) == 429  # throttled means throttled, even when right


def test_a_correct_password_is_not_counted_as_a_failure(client):
    assert [sign_in(client, "wrong-password") for _ in range(2)] == [401, 401]
    assert sign_in(client, PASSWORD) == 302
    client.post("/logout")
    assert sign_in(client, PASSWORD) == 302
    client.post("/logout")
    assert sign_in(client, "wrong-password") == 401  # still only the third failure
    assert sign_in(client, "wrong-password") == 429
