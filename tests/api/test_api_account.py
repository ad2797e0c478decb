"""The caller's own account through the API: ending the token in use, changing the password
(the current one required), and the 403 ``password_change_required`` that answers every other
route after an admin set the password."""

from __future__ import annotations

import pytest

from lims.services.admin import accounts
from tests.backends import backend  # noqa: F401  (SQLite alone: the account API's answers)
from tests.conftest import PASSWORD

from .helpers import assert_error

NEW = "harbour-lantern-quartz"


def bearer(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def change(client, headers, current: str = PASSWORD, new: str = NEW):
    body = {"current_password": current, "new_password": new}
    return client.post("/api/v1/me/password", json=body, headers=headers)


def test_a_revoked_token_is_refused_and_the_others_go_on(client, users):
    used, other = bearer(client, "tech"), bearer(client, "tech")
    assert client.get("/api/v1/units", headers=used).status_code == 200

    response = client.post("/api/v1/tokens/revoke", headers=used)

    assert response.status_code == 200 and response.get_json()["revoked_at"].endswith("Z")
    assert_error(client.get("/api/v1/units", headers=used), 401, "unauthorized")
    assert_error(client.post("/api/v1/tokens/revoke", headers=used), 401)
    assert client.get("/api/v1/units", headers=other).status_code == 200


def test_a_person_changes_their_password_and_keeps_this_token_only(app, client, users):
    this, other = bearer(client, "qa"), bearer(client, "qa")

    response = change(client, this)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tokens_revoked"] == 1 and body["user"]["username"] == "qa"
    assert client.get("/api/v1/units", headers=this).status_code == 200
    assert_error(client.get("/api/v1/units", headers=other), 401)
    assert_error(client.post("/api/v1/tokens", json={"username": "qa", "password": PASSWORD}), 401)
    bearer(client, "qa", NEW)


@pytest.mark.parametrize(
    ("current", "new", "status", "field"),
    [
        ("not-my-password", NEW, 422, "current_password"),
        (PASSWORD, "short-pass1", 422, "new_password"),
        (PASSWORD, "Password2024!", 422, "new_password"),
        (PASSWORD, PASSWORD, 422, "new_password"),
    ],
    ids=["wrong-current", "short", "common", "unchanged"],
)
def test_a_refused_change_names_the_field_and_changes_nothing(
    client, users, current, new, status, field
):
    headers = bearer(client, "tech")
    error = assert_error(change(client, headers, current, new), status)
    assert set(error["fields"]) == {field}
    assert accounts.authenticate("tech", PASSWORD) is not None


def test_a_change_with_a_body_that_is_not_json_is_refused(client, users):
    headers = bearer(client, "tech")
    response = client.post("/api/v1/me/password", data="x", headers=headers)
    assert_error(response, 415)


def test_wrong_current_passwords_pause_the_callers_password_entry(app, client, users):
    app.config["SIGNING_THROTTLE"] = "2 per minute"
    headers = bearer(client, "tech")
    for n in range(2):
        assert_error(change(client, headers, current=f"guess-{n}"), 422, "wrong_password")

    blocked = change(client, headers)

    assert_error(blocked, 429, "too_many_requests")
    assert int(blocked.headers["Retry-After"]) > 0
    bearer(client, "qa")  # nobody else is stopped


def test_after_an_admin_sets_the_password_only_the_change_is_open(client, users):
    accounts.reset_password(users["technician2"], NEW, by=users["admin"])
    headers = bearer(client, "tech2", NEW)  # a token is still issued

    refused = assert_error(
        client.get("/api/v1/units", headers=headers), 403, "password_change_required"
    )
    assert "/api/v1/me/password" in refused["message"]
    assert change(client, headers, current=NEW, new="quartz-lantern-harbour").status_code == 200
    assert client.get("/api/v1/units", headers=headers).status_code == 200


def test_a_token_can_be_revoked_while_the_password_must_change(client, users):
    accounts.reset_password(users["technician2"], NEW, by=users["admin"])
    headers = bearer(client, "tech2", NEW)
    assert client.post("/api/v1/tokens/revoke", headers=headers).status_code == 200
