"""Users and roles in the browser (admins): the list, a new user, a person's page with their
role, deactivation, a new password and the ledger's record of each change; refusals that
change nothing, and deactivation ending the person's session and API tokens at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.admin import accounts
from lims.services.custody import ledger
from lims.timefmt import local_time
from tests.backends import backend  # noqa: F401  (SQLite alone: the admin pages; the account rules are tested on both in tests/service/test_accounts_admin.py)
from tests.conftest import PASSWORD, FreshRequestClient
from tests.web.conftest import text_of

NEW = "brand-new-pass-42"


def new_user_form(**overrides: str) -> dict[str, str]:
    data = {
        "username": "nina",
        "full_name": "Nina Novak",
        "email": "nina@example.org",
        "role": "technician",
        "password": NEW,
        "password_again": NEW,
        "reason": "new starter",
    }
    data.update(overrides)
    return data


def state() -> list[tuple]:
    """Every account as stored, and the ledger's length: what a refusal must leave alone."""
    db.session.rollback()
    rows = db.session.execute(
        select(
            User.username, User.full_name, User.email, User.role, User.active, User.password_hash
        ).order_by(User.id)
    )
    return [tuple(r) for r in rows] + [("ledger", ledger.count())]


def another_browser(app) -> FreshRequestClient:
    return FreshRequestClient(app, app.response_class, use_cookies=True)


def stored(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def page_of(users, role: str = "technician2") -> str:
    return f"/admin/users/{users[role].id}"


def field_error(response, field_id: str) -> str:
    html = response.get_data(as_text=True)
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error-1">(.*?)</p>', html)
    return found.group(1) if found else ""


def test_the_list_shows_each_person_with_role_status_and_creation_time(login, users):
    accounts.deactivate(users["clinician"], by=users["admin"])

    text = text_of(login("admin").get("/admin/users"))

    created = local_time(users["qa"].created_at)
    assert f"qa Test Qa — QA active {created}" in text
    assert "doctor Test Clinician — Clinician deactivated" in text
    assert "system" not in text.split("Created")[1]


def test_an_admin_creates_a_user_who_then_signs_in(app, login, users):
    response = login("admin").post("/admin/users/new", data=new_user_form())

    nina = db.session.scalar(select(User).where(User.username == "nina"))
    assert response.status_code == 302 and response.location.endswith(f"/admin/users/{nina.id}")
    assert (nina.full_name, nina.email, nina.role) == (
        "Nina Novak",
        "nina@example.org",
        "technician",
    )
    page = text_of(login("admin").get(response.location))
    assert "Created nina (Lab technician)" in page
    assert "Account created as Lab technician, “Nina Novak”, nina@example.org Test Admin" in page
    other = another_browser(app)
    signed_in = other.post("/login", data={"username": "nina", "password": NEW})
    assert signed_in.status_code == 302 and "/login" not in signed_in.location


@pytest.mark.parametrize(
    ("overrides", "field", "message", "status"),
    [
        ({"username": "tech"}, "username", "tech already exists", 409),
        ({"username": "Bad Name!"}, "username", "a username is 2-64 characters", 422),
        ({"username": "system"}, "username", "reserved", 422),
        ({"role": "wizard"}, "role", "unknown role", 422),
        ({"role": ""}, "role", "unknown role", 422),
        ({"full_name": "  "}, "full_name", "a printed name is needed", 422),
        ({"email": "nina-at-example"}, "email", "not an e-mail address", 422),
        ({"password": "short", "password_again": "short"}, "password", "at least 12", 422),
        ({"password_again": "something-else"}, "password_again", "the two passwords differ", 422),
    ],
    ids=[
        "duplicate",
        "bad-username",
        "reserved",
        "unknown-role",
        "no-role",
        "blank-name",
        "bad-email",
        "short-password",
        "passwords-differ",
    ],
)
def test_a_bad_new_user_is_refused_beside_its_field(
    login, users, overrides, field, message, status
):
    client = login("admin")
    before = state()

    response = client.post("/admin/users/new", data=new_user_form(**overrides))

    assert response.status_code == status
    assert message in field_error(response, field)
    assert "Nobody was created" in text_of(response)
    assert NEW not in response.get_data(as_text=True)  # a password is never echoed
    assert state() == before


def test_a_role_change_shows_in_the_persons_history(login, users):
    client = login("admin")

    response = client.post(
        f"{page_of(users)}/role", data={"role-role": "qa", "role-reason": "moved to QA"}
    )

    assert response.status_code == 302
    assert stored(users["technician2"]).role == "qa"
    page = text_of(client.get(response.location))
    assert "tech2 is now QA (was Lab technician)" in page
    assert "Role changed Lab technician → QA Test Admin (Admin) moved to QA" in page


def test_a_corrected_name_and_address_show_in_the_persons_history(login, users):
    client = login("admin")
    form = {
        "details-full_name": "Sam  Second-Technician ",
        "details-email": "sam@lab.example",
        "details-reason": "married name",
    }

    response = client.post(f"{page_of(users)}/details", data=form)

    assert response.status_code == 302
    person = stored(users["technician2"])
    assert (person.full_name, person.email) == ("Sam Second-Technician", "sam@lab.example")
    page = text_of(client.get(response.location))
    assert (
        "Name or e-mail changed “Second Technician” → “Sam Second-Technician”; "
        "no e-mail → sam@lab.example Test Admin (Admin) married name"
    ) in page


@pytest.mark.req("P11-11", "A11-4")
def test_deactivation_ends_the_persons_session_and_token_at_once(app, login, users, token):
    bearer = token("technician")
    theirs = another_browser(app)
    theirs.post("/login", data={"username": "tech", "password": PASSWORD})
    assert theirs.get("/units/").status_code == 200

    response = login("admin").post(
        f"{page_of(users, 'technician')}/deactivate", data={"active-reason": "left"}
    )

    assert response.status_code == 302
    assert not stored(users["technician"]).active
    page = theirs.get("/units/")
    assert page.status_code == 302 and "/login" in page.location
    assert another_browser(app).get("/api/v1/units", headers=bearer).status_code == 401
    again = theirs.post("/login", data={"username": "tech", "password": PASSWORD})
    assert again.status_code == 401


def test_a_reactivated_person_signs_in_again(app, login, users):
    accounts.deactivate(users["technician2"], by=users["admin"])

    response = login("admin").post(f"{page_of(users)}/reactivate", data={})

    assert response.status_code == 302 and stored(users["technician2"]).active
    signed_in = another_browser(app).post(
        "/login", data={"username": "tech2", "password": PASSWORD}
    )
    assert signed_in.status_code == 302 and "/login" not in signed_in.location


def test_a_new_password_ends_the_persons_open_sessions(app, login, users):
    theirs = another_browser(app)
    theirs.post("/login", data={"username": "tech2", "password": PASSWORD})
    assert theirs.get("/units/").status_code == 200

    login("admin").post(
        f"{page_of(users)}/password",
        data={"pw-password": NEW, "pw-password_again": NEW, "pw-reason": "shared by mistake"},
    )

    page = theirs.get("/units/")
    assert page.status_code == 302 and "/login" in page.location


def test_a_new_password_replaces_the_old_one(app, login, users):
    response = login("admin").post(
        f"{page_of(users)}/password",
        data={"pw-password": NEW, "pw-password_again": NEW, "pw-reason": "forgotten"},
    )

    assert response.status_code == 302
    old = another_browser(app).post("/login", data={"username": "tech2", "password": PASSWORD})
    assert old.status_code == 401
    new = another_browser(app).post("/login", data={"username": "tech2", "password": NEW})
    assert new.status_code == 302 and "/login" not in new.location
    [entry] = db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == "password_reset"))
    assert NEW not in entry.data


@pytest.mark.parametrize(
    ("path", "data", "status", "message"),
    [
        ("{me}/role", {"role-role": "qa"}, 403, "you cannot change your own role"),
        ("{me}/deactivate", {}, 403, "you cannot deactivate yourself"),
        ("{other}/role", {"role-role": "technician"}, 409, "already has the role technician"),
        ("{other}/role", {"role-role": "wizard"}, 422, "unknown role"),
        ("{other}/reactivate", {}, 409, "already active"),
        ("{other}/password", {"pw-password": NEW, "pw-password_again": "x"}, 422, "differ"),
        ("{other}/password", {"pw-password": "short", "pw-password_again": "short"}, 422, "12"),
        ("{other}/deactivate", {"active-reason": "r" * 501}, 422, "at most 500"),
        ("{other}/details", {"details-full_name": " ", "details-email": ""}, 422, "printed name"),
        (
            "{other}/details",
            {"details-full_name": "Second Technician", "details-email": "not-an-address"},
            422,
            "not an e-mail address",
        ),
        (
            "{other}/details",
            {"details-full_name": "Second Technician", "details-email": ""},
            409,
            "already so",
        ),
    ],
    ids=[
        "own-role",
        "deactivate-self",
        "same-role",
        "unknown-role",
        "reactivate-active",
        "passwords-differ",
        "short-password",
        "long-reason",
        "blank-name",
        "bad-email",
        "details-unchanged",
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(login, users, path, data, status, message):
    client = login("admin")
    url = path.format(me=page_of(users, "admin"), other=page_of(users))
    before = state()

    response = client.post(url, data=data)

    assert response.status_code == status
    assert message in text_of(response)
    assert state() == before


def test_a_double_submitted_deactivation_is_told_the_second_time(login, users):
    client = login("admin")
    url = f"{page_of(users)}/deactivate"
    assert client.post(url, data={}).status_code == 302
    before = state()

    again = client.post(url, data={})

    assert again.status_code == 409
    assert "tech2 is already deactivated" in text_of(again)
    assert state() == before


def test_the_own_page_offers_no_role_or_deactivation_form(login, users):
    html = login("admin").get(page_of(users, "admin")).get_data(as_text=True)

    assert "You cannot change your own role" in html
    assert "/deactivate" not in html and "/role" not in html
    assert f'action="{page_of(users, "admin")}/password"' in html


@pytest.mark.parametrize("suffix", ["", "/role", "/deactivate", "/password"])
@pytest.mark.parametrize("user_id", ["{system}", "999999", "2147483647"])
def test_the_system_account_and_unknown_ids_are_not_found(login, users, suffix, user_id):
    system = accounts.system_user()
    client = login("admin")
    before = state()
    url = f"/admin/users/{user_id.format(system=system.id)}{suffix}"

    response = client.post(url, data={"role-role": "admin"}) if suffix else client.get(url)

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("url", ["/admin/users/99999999999", "/admin/users/-1", "/admin/users/x"])
def test_an_impossible_id_is_not_found(login, users, url):
    assert login("admin").get(url).status_code == 404


@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/users/new", new_user_form()),
        ("{other}/role", {"role-role": "admin"}),
        ("{other}/deactivate", {}),
        ("{other}/password", {"pw-password": NEW, "pw-password_again": NEW}),
    ],
    ids=["create", "role", "deactivate", "password"],
)
def test_no_one_but_an_admin_changes_accounts(login, users, role, path, data):
    client = login(role)
    before = state()

    response = client.post(path.format(other=page_of(users)), data=data)

    assert response.status_code == 403
    assert state() == before


def test_a_get_of_a_forms_address_shows_the_form_on_the_persons_page(login, users):
    response = login("admin").get(f"{page_of(users)}/password")

    assert response.status_code == 302
    assert response.location.endswith(f"{page_of(users)}#password")


def test_the_ledger_stays_intact_after_account_changes(login, users):
    client = login("admin")
    client.post("/admin/users/new", data=new_user_form())
    client.post(f"{page_of(users)}/role", data={"role-role": "qa"})
    client.post(f"{page_of(users)}/deactivate", data={})

    db.session.rollback()
    actions = db.session.scalars(
        select(LedgerEntry.action).where(LedgerEntry.unit_id.is_(None)).order_by(LedgerEntry.seq)
    )
    assert list(actions) == ["user_created", "role_changed", "user_deactivated"]
    assert ledger.verify().intact
    assert db.session.scalar(select(func.count()).select_from(User)) == 6
