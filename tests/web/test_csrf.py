"""With CSRF protection on (as in production), a form posted without its token is refused
with 400 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from lims.services.custody import ledger
from tests.backends import backend  # noqa: F401  (SQLite alone: CSRF tokens on forms)

from .conftest import ZONE, action_form, register_form, stored, text_of, unit_count


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TIMEZONE": ZONE, "WTF_CSRF_ENABLED": True}


def sign_in(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "tech", "password": "test-pass-1234", "csrf_token": token}
    )
    assert response.status_code == 302


def test_signing_in_without_a_token_is_refused(client, users):
    response = client.post("/login", data={"username": "tech", "password": "test-pass-1234"})

    assert response.status_code == 400
    assert "CSRF" in text_of(response)


def test_registering_without_a_token_is_refused_and_creates_nothing(client, users):
    sign_in(client)

    response = client.post("/units/register", data=register_form())

    assert response.status_code == 400
    assert unit_count() == 0
    assert ledger.count() == 0


@pytest.mark.req("A11-4")
def test_an_action_without_a_token_is_refused_and_changes_nothing(client, users, unit_in):
    unit = unit_in("collected")
    sign_in(client)
    before = stored(unit.id)

    response = client.post(
        f"/units/{unit.id}/actions/receive",
        data={"version": str(before["version"]), **action_form("receive")},
    )

    assert response.status_code == 400
    assert stored(unit.id) == before


def test_signing_out_without_a_token_is_refused(client, users):
    sign_in(client)

    response = client.post("/logout")

    assert response.status_code == 400
    assert client.get("/units/").status_code == 200  # still signed in


def test_the_forms_carry_the_token(client, users, unit_in):
    unit = unit_in("collected")
    sign_in(client)

    for url in ("/units/register", f"/units/{unit.id}/actions/receive", "/units/"):
        html = client.get(url).get_data(as_text=True)
        assert 'name="csrf_token"' in html, url

    page = client.get(f"/units/{unit.id}/actions/receive").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    version = page.split('name="version" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        f"/units/{unit.id}/actions/receive",
        data={"csrf_token": token, "version": version, **action_form("receive")},
    )
    assert response.status_code == 302
    assert stored(unit.id)["status"] == "received"
