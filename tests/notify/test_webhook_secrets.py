"""A webhook's path, query and sign-in name are where its secret lives: a failed delivery
records and logs only ``scheme://host:port`` (in-process mode, both backends)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import Delivery
from lims.notify.channels import origin
from lims.services.actions import units
from tests.service.lab import data_for, registration

from .conftest import Receiver, free_port

SECRETS = ("hooks-user", "pw-S3CRET", "T0KEN-IN-PATH", "Q-SECRET")


def secret_url(port: int) -> str:
    return f"http://hooks-user:pw-S3CRET@127.0.0.1:{port}/services/T0KEN-IN-PATH?token=Q-SECRET"


DOWN = free_port()  # nobody listens here


def received(users) -> Delivery:
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    units.perform_action(unit.id, "receive", data_for("receive"), users["technician"])
    db.session.rollback()
    return db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()


def said_nothing_secret(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


@pytest.mark.parametrize(
    "app_config",
    [{"WEBHOOK_URL": secret_url(DOWN), "WEBHOOK_SECRET": "s3cret", "NOTIFY_MAX_ATTEMPTS": 1}],
)
def test_a_receiver_that_is_down_is_named_by_host_and_port_only(users, caplog):
    caplog.set_level(logging.DEBUG, logger="lims")
    delivery = received(users)  # the only attempt fails: parked, and logged as an error
    assert delivery.status == "failed"
    assert delivery.last_error.startswith(f"webhook http://127.0.0.1:{DOWN}: ")
    assert said_nothing_secret(delivery.last_error), delivery.last_error
    parked = [r.getMessage() for r in caplog.records if "parked" in r.getMessage()]
    assert parked and all(said_nothing_secret(line) for line in parked)
    assert all(said_nothing_secret(r.getMessage()) for r in caplog.records)


@pytest.fixture
def refusing(webhook: Receiver) -> Receiver:
    """The test receiver answers 401 to a body signed with another secret."""
    return webhook


@pytest.fixture
def app_config(refusing: Receiver) -> dict[str, Any]:
    return {"WEBHOOK_URL": secret_url(refusing.port), "WEBHOOK_SECRET": "not-the-receivers"}


def test_a_receiver_that_refuses_is_named_by_host_and_port_only(users, refusing):
    delivery = received(users)
    assert len(refusing.calls) == 1  # it was reached, at its secret path
    assert delivery.last_error == f"webhook http://127.0.0.1:{refusing.port} answered 401"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.org/T0KEN?x=1", "https://hooks.example.org"),
        ("https://u:p@hooks.example.org:8443/a/b#frag", "https://hooks.example.org:8443"),
        ("http://[::1]:9000/secret", "http://[::1]:9000"),
        ("not a url", "?://?"),
    ],
)
def test_origin_is_scheme_host_and_port(url, shown):
    assert origin(url) == shown
