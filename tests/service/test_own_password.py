"""Passwords in the accounts service: one set of rules for a new account, an admin's new
password and a person's own change; a password an admin set must be replaced by the person;
a person's own change is recorded (never the password) and ends their other tokens; an
unknown username costs as much time as a known one; the production hash is scrypt N=2^17."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from config import Config, TestingConfig
from lims.domain.errors import Forbidden, Invalid
from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.services.admin import accounts
from lims.services.custody import ledger
from tests.conftest import PASSWORD

NEW = "harbour-lantern-quartz"


def entries(action: str) -> list[LedgerEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == action)))


def fresh(user: User) -> User:
    db.session.rollback()
    found = db.session.get(User, user.id)
    assert found is not None
    return found


# ---------------------------------------------------------------------------- the rules


WEAK = {
    "short": "short-pass1",
    "username": "my-nina.novak-pass",
    "common": "Password2024!",
}


@pytest.mark.parametrize("weak", sorted(WEAK))
def test_a_new_account_needs_a_password_that_meets_the_rules(users, weak):
    with pytest.raises(Invalid) as refused:
        accounts.create_user(
            "nina.novak", "technician", WEAK[weak], full_name="Nina", by=users["admin"]
        )
    assert set(refused.value.fields) == {"password"}
    assert db.session.scalar(select(User).where(User.username == "nina.novak")) is None


@pytest.mark.parametrize("weak", ["short", "common"])
def test_an_admins_new_password_meets_the_rules(users, weak):
    before = users["qa"].password_hash
    with pytest.raises(Invalid) as refused:
        accounts.reset_password(users["qa"], WEAK[weak], by=users["admin"])
    assert set(refused.value.fields) == {"password"}
    assert fresh(users["qa"]).password_hash == before


def test_an_admins_new_password_may_not_contain_the_username(users):
    with pytest.raises(Invalid) as refused:
        accounts.reset_password(users["technician2"], "TECH2-is-back-again", by=users["admin"])
    assert refused.value.fields == {"password": "a password may not contain the username"}


@pytest.mark.parametrize("weak", sorted(WEAK))
def test_ones_own_new_password_meets_the_rules(users, weak):
    user = accounts.create_user("nina.novak", "technician", PASSWORD, full_name="Nina")
    with pytest.raises(Invalid) as refused:
        accounts.change_own_password(user, PASSWORD, WEAK[weak])
    assert set(refused.value.fields) == {"new_password"}
    assert accounts.authenticate("nina.novak", PASSWORD) is not None
    assert entries("password_changed") == []


# ---------------------------------------------------------------------------- admin sets


def test_a_password_an_admin_sets_must_be_changed_at_the_next_sign_in(users):
    tech = users["technician2"]
    assert not tech.must_change_password

    accounts.reset_password(tech, NEW, by=users["admin"], reason="forgotten")

    assert fresh(tech).must_change_password
    [entry] = entries("password_reset")
    assert NEW not in entry.data and fresh(tech).password_hash not in entry.data


def test_an_account_an_admin_creates_starts_with_a_password_to_change(users):
    made = accounts.create_user("nina", "technician", NEW, full_name="Nina", by=users["admin"])
    bootstrap = accounts.create_user("omar", "technician", NEW, full_name="Omar")

    assert fresh(made).must_change_password
    assert not fresh(bootstrap).must_change_password  # the command line's own account


# ---------------------------------------------------------------------------- own change


def test_a_person_changes_their_own_password_and_the_ledger_records_it(users):
    qa = users["qa"]
    accounts.reset_password(qa, NEW, by=users["admin"])
    kept, _ = accounts.issue_token(qa)
    other, _ = accounts.issue_token(qa)
    mine = "quartz-lantern-harbour"

    revoked = accounts.change_own_password(qa, NEW, mine, keeping_token=kept)

    assert revoked == 1
    assert accounts.authenticate("qa", mine) == qa
    assert accounts.authenticate("qa", NEW) is None
    assert not fresh(qa).must_change_password
    assert accounts.user_for_token(kept) == qa
    assert accounts.user_for_token(other) is None
    [entry] = entries("password_changed")
    assert (entry.actor_id, entry.unit_id) == (qa.id, None)
    assert json.loads(entry.data) == {"user_id": qa.id, "username": "qa", "tokens_revoked": 1}
    for secret in (NEW, mine, fresh(qa).password_hash):
        assert secret not in entry.data
    assert [e.action for e in accounts.account_history(qa)] == [
        "password_reset",
        "password_changed",
    ]
    assert ledger.verify().intact


def test_a_wrong_current_password_changes_nothing(users):
    tech = users["technician"]
    token, _ = accounts.issue_token(tech)
    before = tech.password_hash

    with pytest.raises(Invalid) as refused:
        accounts.change_own_password(tech, "not-my-password", NEW)

    assert refused.value.code == "wrong_password"
    assert refused.value.fields == {"current_password": "wrong password"}
    assert fresh(tech).password_hash == before
    assert accounts.user_for_token(token) is not None
    assert entries("password_changed") == []


def test_the_new_password_must_differ_from_the_current_one(users):
    with pytest.raises(Invalid) as refused:
        accounts.change_own_password(users["qa"], PASSWORD, PASSWORD)
    assert "differ" in refused.value.fields["new_password"]


def test_a_deactivated_account_cannot_change_its_password(users):
    accounts.deactivate(users["technician2"], by=users["admin"])
    with pytest.raises(Forbidden):
        accounts.change_own_password(fresh(users["technician2"]), PASSWORD, NEW)


# ---------------------------------------------------------------------------- sign-in


def test_the_api_token_in_use_can_be_revoked_and_only_it(users):
    used, _ = accounts.issue_token(users["qa"])
    other, _ = accounts.issue_token(users["qa"])

    accounts.revoke_token(used, users["qa"])

    assert accounts.user_for_token(used) is None
    assert accounts.user_for_token(other) == users["qa"]


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_METHOD": "pbkdf2:sha256:150000"}])
def test_an_unknown_username_costs_as_much_time_as_a_known_one(users):
    """A quick "no" for unknown or deactivated usernames would tell which ones exist."""
    accounts.create_user("nina", "technician", NEW, full_name="Nina")  # hashed at this cost
    accounts.deactivate(users["technician2"], by=users["admin"])

    def fastest(username: str) -> float:
        # the least of five: one run without another process on the core is enough
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert accounts.authenticate(username, "wrong-password-here") is None
            times.append(time.perf_counter() - start)
        return min(times)

    known = fastest("nina")
    assert fastest("nobody-by-this-name") > known / 2
    assert fastest("tech2") > known / 2  # deactivated


@pytest.mark.req("P11-11")
def test_production_hashes_with_scrypt_at_n_2_to_the_17():
    assert Config.PASSWORD_HASH_METHOD == "scrypt:131072:8:1"
    assert TestingConfig.PASSWORD_HASH_METHOD.startswith("pbkdf2")  # the suite stays fast
    hashed = generate_password_hash(NEW, method=Config.PASSWORD_HASH_METHOD)
    assert hashed.startswith("scrypt:131072:8:1$")
    assert check_password_hash(hashed, NEW) and not check_password_hash(hashed, PASSWORD)
