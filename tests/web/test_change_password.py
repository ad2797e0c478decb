"""Changing one's own password in the browser: a page every role reaches from the top bar,
the current password required, the rules' reasons beside the field; the change ends the
person's other sessions but not this one. After an admin sets a password the person is sent
to that page from everywhere until they choose their own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.admin import accounts
from tests.backends import backend  # noqa: F401  (SQLite alone: the form; the password rules are tested on both in service/test_own_password)
from tests.conftest import PASSWORD, FreshRequestClient
from tests.web.conftest import text_of

NEW = "harbour-lantern-quartz"
URL = "/account/password"


def change_form(current: str = PASSWORD, new: str = NEW, again: str | None = None) -> dict:
    return {
        "current_password": current,
        "new_password": new,
        "new_password_again": new if again is None else again,
    }


def another_browser(app) -> FreshRequestClient:
    return FreshRequestClient(app, app.response_class, use_cookies=True)


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def stored(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.mark.parametrize("role", ["technician", "clinician", "qa", "admin"])
def test_every_role_reaches_the_page_from_the_top_bar(login, role):
    client = login(role)
    start = client.get("/notifications").get_data(as_text=True)  # any page
    assert re.search(rf'<a class="who-password" href="{URL}"', start)

    page = client.get(URL)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("current_password", "new_password", "new_password_again"):
        assert f'name="{name}"' in html
    assert "at least 12 characters" in html


def test_a_person_changes_their_password_and_stays_signed_in_here_only(app, login, users):
    elsewhere = another_browser(app)
    assert sign_in(elsewhere, "tech").status_code == 302
    client = login("technician")

    response = client.post(URL, data=change_form())

    assert response.status_code == 302
    assert client.get("/units/").status_code == 200  # this session goes on
    assert "/login" in elsewhere.get("/units/").location  # the other one ended
    assert sign_in(another_browser(app), "tech").status_code == 401  # the old password
    assert sign_in(another_browser(app), "tech", NEW).status_code == 302
    [entry] = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "password_changed")
    )
    assert entry.actor_id == users["technician"].id and NEW not in entry.data


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        (change_form(current="not-my-password"), "current_password", "wrong password"),
        (change_form(new="short-pass1"), "new_password", "at least 12 characters"),
        (change_form(new="my-tech-password"), "new_password", "may not contain the username"),
        (change_form(new="Password2024!"), "new_password", "most common passwords"),
        (change_form(new=PASSWORD), "new_password", "must differ"),
        (change_form(again="harbour-lantern-quartZ"), "new_password_again", "differ"),
    ],
    ids=["wrong-current", "short", "username", "common", "unchanged", "typo"],
)
def test_a_refused_change_says_why_beside_the_field(login, users, form, field, says):
    before = users["technician"].password_hash
    response = login("technician").post(URL, data=form)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error-1">[^<]*{re.escape(says)}', html), text_of(response)
    assert "Your password was not changed" in html
    assert stored(users["technician"]).password_hash == before


def test_wrong_current_passwords_pause_only_this_persons_password_entry(app, login):
    app.config["SIGNING_THROTTLE"] = "2 per minute"
    client = login("technician")
    wrong = [client.post(URL, data=change_form(current=f"guess-{n}")) for n in range(2)]

    blocked = client.post(URL, data=change_form())

    assert [r.status_code for r in wrong] == [422, 422]
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert sign_in(another_browser(app), "qa").status_code == 302  # the address goes on


# ---------------------------------------------------------------------------- admin set it


@pytest.fixture
def reset_by_admin(users):
    """An admin gave tech2 a new password to hand over: NEW."""
    accounts.reset_password(users["technician2"], NEW, by=users["admin"], reason="forgotten")


def test_after_an_admin_sets_a_password_every_page_leads_to_the_change(app, reset_by_admin):
    client = another_browser(app)
    signed_in = sign_in(client, "tech2", NEW)
    assert signed_in.status_code == 302 and signed_in.location.endswith(URL)

    for method, url in [
        ("GET", "/"),
        ("GET", "/units/"),
        ("GET", "/notifications"),
        ("POST", "/notifications/read-all"),
    ]:
        response = client.open(url, method=method)
        assert response.status_code == 302 and response.location.endswith(URL), url
    page = client.get(URL)
    assert page.status_code == 200 and "An administrator set your password" in text_of(page)
    assert client.post("/logout").status_code == 302  # signing out is always possible


def test_choosing_ones_own_password_ends_the_requirement(app, users, reset_by_admin):
    client = another_browser(app)
    sign_in(client, "tech2", NEW)
    mine = "quartz-lantern-harbour"

    response = client.post(URL, data=change_form(current=NEW, new=mine))

    assert response.status_code == 302
    assert client.get("/units/").status_code == 200
    assert not stored(users["technician2"]).must_change_password
    assert sign_in(another_browser(app), "tech2", NEW).status_code == 401  # the admin's


def test_the_admins_page_says_the_person_will_choose_their_own(login, users):
    response = login("admin").post(
        f"/admin/users/{users['technician2'].id}/password",
        data={"pw-password": NEW, "pw-password_again": NEW, "pw-reason": "forgotten"},
        follow_redirects=True,
    )
    assert "must choose their own at the next sign-in" in text_of(response)
    assert stored(users["technician2"]).must_change_password
