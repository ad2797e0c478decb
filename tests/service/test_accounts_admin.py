"""The admin's changes to accounts: create, change role, deactivate, reactivate,
reset a password. Each is guarded, and recorded as a ledger entry without a unit in the same
transaction (never the password); a refusal changes nothing and records nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.admin import accounts
from lims.services.custody import ledger

from .test_concurrency import at_once

NEW_PASSWORD = "brand-new-pass-42"


def entries(action: str | None = None) -> list[LedgerEntry]:
    db.session.rollback()
    stmt = select(LedgerEntry).order_by(LedgerEntry.seq)
    if action:
        stmt = stmt.where(LedgerEntry.action == action)
    return list(db.session.scalars(stmt))


def user_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(User))


def accounts_state() -> list[tuple]:
    """What an account change could alter: every account and the ledger's length."""
    db.session.rollback()
    rows = db.session.execute(
        select(
            User.username, User.full_name, User.email, User.role, User.active, User.password_hash
        ).order_by(User.id)
    )
    return [tuple(r) for r in rows] + [("ledger", ledger.count())]


def create(users, username: str = "nina", role: str = "technician", **kw) -> User:
    kw.setdefault("full_name", "Nina Novak")
    kw.setdefault("by", users["admin"])
    return accounts.create_user(username, role, kw.pop("password", NEW_PASSWORD), **kw)


@pytest.mark.req("P11-1")
def test_an_admin_creates_an_account_and_the_ledger_records_it(users):
    user = create(users, email="nina@example.org", reason="new starter, ticket 12")

    [entry] = entries("user_created")
    assert entry.unit_id is None and entry.actor_id == users["admin"].id
    assert (entry.actor_name, entry.reason) == ("Test Admin", "new starter, ticket 12")
    assert json.loads(entry.data) == {
        "user_id": user.id,
        "username": "nina",
        "to_role": "technician",
        "full_name": "Nina Novak",
        "email": "nina@example.org",
    }
    assert (entry.from_status, entry.to_status, entry.from_location_id) == (None, None, None)
    assert accounts.authenticate("nina", NEW_PASSWORD) == user
    assert ledger.verify().intact


@pytest.mark.parametrize(
    ("username", "role", "overrides", "field"),
    [
        ("tech", "technician", {}, "username"),  # taken (by the fixture's technician)
        ("TECH", "technician", {}, "username"),  # the same name in capitals
        ("nina", "wizard", {}, "role"),
        ("nina", "system", {}, "role"),
        ("system", "technician", {}, "username"),
        ("nina bee", "technician", {}, "username"),
        ("nina", "technician", {"full_name": "   "}, "full_name"),
        ("nina", "technician", {"full_name": "N" * 121}, "full_name"),
        ("nina", "technician", {"full_name": "Nina\x00"}, "full_name"),
        ("nina", "technician", {"email": "not-an-address"}, "email"),
        ("nina", "technician", {"password": "short"}, "password"),
        ("nina", "technician", {"password": "x" * 201}, "password"),
        ("nina", "technician", {"reason": "r" * 501}, "reason"),
    ],
    ids=[
        "duplicate",
        "duplicate-case",
        "unknown-role",
        "system-role",
        "reserved-username",
        "bad-username",
        "blank-name",
        "long-name",
        "nul-in-name",
        "bad-email",
        "short-password",
        "huge-password",
        "long-reason",
    ],
)
def test_a_bad_new_account_is_refused_and_nothing_changes(users, username, role, overrides, field):
    before = accounts_state()

    with pytest.raises((Invalid, Conflict)) as refused:
        create(users, username, role, **overrides)

    assert field in refused.value.fields
    assert accounts_state() == before


@pytest.mark.req("P11-7")
@pytest.mark.parametrize("role", ["technician", "clinician", "qa"])
def test_only_an_admin_manages_accounts(users, role):
    before = accounts_state()
    with pytest.raises(Forbidden):
        create(users, by=users[role])
    with pytest.raises(Forbidden):
        accounts.deactivate(users["technician2"], by=users[role])
    assert accounts_state() == before


def test_a_role_change_is_recorded_with_both_roles(users):
    tech = users["technician2"]

    accounts.change_role(tech, "qa", by=users["admin"], reason="moved to QA")

    assert db.session.get(User, tech.id).role == "qa"
    [entry] = entries("role_changed")
    data = json.loads(entry.data)
    assert (data["from_role"], data["to_role"], data["username"]) == ("technician", "qa", "tech2")
    assert entry.reason == "moved to QA"


def test_the_bootstrap_role_change_keeps_working_unrecorded(users):
    """``change_role(user, role)`` without an admin (tests, scripts) behaves as before."""
    accounts.change_role(users["technician"], "qa")
    assert db.session.get(User, users["technician"].id).role == "qa"
    assert entries() == []


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        (lambda u: accounts.change_role(u["admin"], "qa", by=u["admin"]), Forbidden, "own_account"),
        (lambda u: accounts.deactivate(u["admin"], by=u["admin"]), Forbidden, "own_account"),
        (
            lambda u: accounts.change_role(u["technician"], "technician", by=u["admin"]),
            Conflict,
            "unchanged",
        ),
        (lambda u: accounts.reactivate(u["technician"], by=u["admin"]), Conflict, "unchanged"),
        (
            lambda u: accounts.change_role(u["technician"], "wizard", by=u["admin"]),
            Invalid,
            "invalid_fields",
        ),
        (
            lambda u: accounts.change_role(accounts.system_user(), "admin", by=u["admin"]),
            Forbidden,
            "system_account",
        ),
        (
            lambda u: accounts.reset_password(accounts.system_user(), NEW_PASSWORD, by=u["admin"]),
            Forbidden,
            "system_account",
        ),
    ],
    ids=[
        "demote-self",
        "deactivate-self",
        "same-role",
        "reactivate-active",
        "unknown-role",
        "system-role",
        "system-password",
    ],
)
def test_guarded_changes_are_refused_and_change_nothing(users, change, error, code):
    accounts.system_user()
    before = accounts_state()

    with pytest.raises(error) as refused:
        change(users)

    assert refused.value.code == code
    assert accounts_state() == before


def test_deactivation_ends_api_tokens_at_once_and_reactivation_does_not_revive_them(users):
    tech = users["technician2"]
    token, _ = accounts.issue_token(tech)
    assert accounts.user_for_token(token) == tech

    accounts.deactivate(tech, by=users["admin"], reason="left the lab")

    assert accounts.user_for_token(token) is None
    assert accounts.authenticate("tech2", "test-pass-1234") is None
    [entry] = entries("user_deactivated")
    assert json.loads(entry.data)["tokens_revoked"] == 1
    accounts.reactivate(tech, by=users["admin"])
    assert accounts.user_for_token(token) is None  # a new sign-in gets a new token
    assert db.session.get(User, tech.id).active


@pytest.mark.req("P11-3")
def test_a_deactivated_account_is_kept_with_everything_it_recorded(users, unit_in):
    unit = unit_in("received")  # the technician received it
    accounts.deactivate(users["technician"], by=users["admin"])

    assert db.session.get(User, users["technician"].id) is not None
    assert any(e.actor_id == users["technician"].id and e.unit_id == unit.id for e in entries())


def test_a_password_reset_lets_the_person_in_with_the_new_password_only(users):
    qa = users["qa"]
    old_hash = qa.password_hash
    token, _ = accounts.issue_token(qa)

    accounts.reset_password(qa, NEW_PASSWORD, by=users["admin"], reason="forgotten")

    assert accounts.authenticate("qa", NEW_PASSWORD) == qa
    assert accounts.authenticate("qa", "test-pass-1234") is None
    assert accounts.user_for_token(token) is None
    [entry] = entries("password_reset")
    assert NEW_PASSWORD not in entry.data and qa.password_hash not in entry.data
    assert old_hash not in entry.data
    assert json.loads(entry.data) == {"user_id": qa.id, "username": "qa", "tokens_revoked": 1}


@pytest.mark.req("P11-2")
def test_a_corrected_name_is_recorded_and_earlier_entries_keep_the_old_one(users, unit_in):
    unit = unit_in("received")  # entries printed with "Test Technician"
    tech = users["technician"]

    accounts.change_details(
        tech, "Tess Technician", "tess@lab.example", by=users["admin"], reason="new name"
    )

    [entry] = entries("user_details_changed")
    assert json.loads(entry.data) == {
        "user_id": tech.id,
        "username": "tech",
        "from_full_name": "Test Technician",
        "to_full_name": "Tess Technician",
        "from_email": None,
        "to_email": "tess@lab.example",
    }
    earlier = [e for e in entries() if e.unit_id == unit.id and e.actor_id == tech.id]
    assert earlier and {e.actor_name for e in earlier} == {"Test Technician"}
    assert ledger.verify().intact


@pytest.mark.parametrize(
    ("name", "email", "error"),
    [("", None, Invalid), ("Test Qa", "qa@", Invalid), ("Test Qa", "", Conflict)],
    ids=["blank-name", "bad-email", "unchanged"],
)
def test_a_refused_detail_change_changes_nothing(users, name, email, error):
    before = accounts_state()
    with pytest.raises(error):
        accounts.change_details(users["qa"], name, email, by=users["admin"])
    assert accounts_state() == before


def test_only_an_admin_changes_details(users):
    with pytest.raises(Forbidden):
        accounts.change_details(users["qa"], "Q", None, by=users["qa"])


def test_a_refused_password_reset_keeps_the_old_password(users):
    with pytest.raises(Invalid):
        accounts.reset_password(users["qa"], "short", by=users["admin"])
    assert accounts.authenticate("qa", "test-pass-1234") == users["qa"]


def test_an_admin_demoted_meanwhile_can_no_longer_act(users):
    """Two admins demoting each other: the second finds they are no longer admin, so an
    active admin always remains."""
    second = create(users, "ada", "admin", full_name="Ada Admin")
    accounts.change_role(users["admin"], "technician", by=second)

    with pytest.raises(Forbidden):
        accounts.change_role(second, "technician", by=users["admin"])

    assert db.session.get(User, second.id).role == "admin"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, users):
    second = create(users, "ada", "admin", full_name="Ada Admin")
    first_id, second_id = users["admin"].id, second.id

    def demote(target_id: int):
        def job(admin: User):
            target = db.session.get(User, target_id)
            return accounts.change_role(target, "technician", by=admin).role

        return job

    outcomes = at_once(app, [(first_id, demote(second_id)), (second_id, demote(first_id))])

    assert sorted(type(o).__name__ for o in outcomes) == ["Forbidden", "str"]
    db.session.rollback()
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True)))
    assert len(list(admins)) == 1
    assert len(entries("role_changed")) == 1


def test_an_accounts_history_lists_only_its_own_entries_oldest_first(users):
    tech, nina = users["technician2"], create(users)
    accounts.change_role(tech, "qa", by=users["admin"])
    accounts.deactivate(tech, by=users["admin"])
    accounts.reset_password(nina, "another-pass-99", by=users["admin"])

    assert [e.action for e in accounts.account_history(tech)] == [
        "role_changed",
        "user_deactivated",
    ]
    assert [e.action for e in accounts.account_history(nina)] == ["user_created", "password_reset"]
    assert ledger.verify().intact


def test_people_leave_out_the_system_account_and_list_the_active_first(users):
    accounts.system_user()
    accounts.deactivate(users["clinician"], by=users["admin"])

    names = [u.username for u in accounts.people()]

    assert "system" not in names
    assert names[-1] == "doctor"
    with pytest.raises(NotFound):
        accounts.get_person(accounts.system_user().id)
