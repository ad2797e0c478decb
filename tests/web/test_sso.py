"""Single sign-on through a real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock,
tests/oidc_provider.py): the browser's part is the test client and the provider's sign-in
form; our client fetches the provider's discovery, keys and tokens over HTTP and Authlib
verifies the ID token. Decisions 105-106.

SQLite alone: the pages and the flow; the account rules are tested on both databases in
tests/service/test_sso.py."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from lims.extensions import db
from lims.models import Deviation, LedgerEntry, User
from lims.services.actions import units
from lims.services.admin import accounts
from tests import oidc_provider
from tests.backends import backend  # noqa: F401  (SQLite alone: the flow and pages; rules in tests/service)
from tests.conftest import PASSWORD
from tests.service.lab import qc_data, walk

from .conftest import text_of

CLIENT_ID = "lims-test"


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider.serve() as url:
        yield url


@pytest.fixture
def app_config(issuer):
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": "test-client-secret",
        "OIDC_PROVIDER_NAME": "Hospital ID",
        "OIDC_LINK_CLAIM": "preferred_username",
        "OIDC_ROLES_CLAIM": "groups",
        "OIDC_ROLE_MAP": "lims-qa=qa,lims-lab=technician",
    }


@pytest.fixture(autouse=True)
def _fresh_auth_time():
    oidc_provider.AUTH_AGE_SECONDS[0] = 0
    yield
    oidc_provider.AUTH_AGE_SECONDS[0] = 0


def sso_sign_in(client, sub: str, reauth: bool = False):
    """Click "Sign in with Hospital ID" (or "Sign in again at Hospital ID"), sign in on the
    provider's page as ``sub``, follow the provider back to our callback; its answer."""
    if reauth:
        started = client.post("/account/signing-password/reauth")
    else:
        started = client.get("/login/sso")
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    back = oidc_provider.sign_in_at_provider(started.location, sub)
    return client.get(back)


def entries(action: str) -> list[dict]:
    rows = db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == action))
    return [{"actor": e.actor_name, **json.loads(e.data)} for e in rows]


def test_a_known_person_signs_in_linked_by_the_claim_with_the_mapped_role(client, users, issuer):
    page = client.get("/login")
    assert "Sign in with Hospital ID" in text_of(page)
    oidc_provider.set_user(
        issuer, "sub-tech", {"preferred_username": "tech", "groups": ["lims-qa"]}
    )

    started = client.get("/login/sso")
    asked = oidc_provider.query(started.location)
    assert started.location.startswith(f"{issuer}/oauth2/authorize")
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) >= 43
    assert asked["client_id"] == CLIENT_ID and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == "http://localhost/login/sso/callback"
    answer = client.get(oidc_provider.sign_in_at_provider(started.location, "sub-tech"))

    assert answer.status_code == 302 and answer.location == "/"
    assert "Test Technician" in text_of(client.get("/", follow_redirects=True))
    tech = db.session.get(User, users["technician"].id)
    db.session.refresh(tech)
    assert (tech.oidc_issuer, tech.oidc_subject, tech.role) == (issuer, "sub-tech", "qa")
    assert tech.oidc_linked_at is not None
    [linked] = entries("sso_linked")
    assert linked["actor"] == "Test Technician" and linked["subject"] == "sub-tech"
    [mapped] = entries("role_changed")
    assert (mapped["from_role"], mapped["to_role"], mapped["group"]) == (
        "technician",
        "qa",
        "lims-qa",
    )
    assert mapped["actor"] == "LIMS scheduler" and mapped["via"] == "sso_role_map"

    # Later sign-ins match by subject, whatever the claim says now; the mapping applies again.
    oidc_provider.set_user(
        issuer, "sub-tech", {"preferred_username": "t.renamed", "groups": ["lims-lab"]}
    )
    client.post("/logout")
    assert sso_sign_in(client, "sub-tech").status_code == 302
    db.session.refresh(tech)
    assert tech.role == "technician" and len(entries("sso_linked")) == 1
    assert [e["to_role"] for e in entries("role_changed")] == ["qa", "technician"]


def test_an_unknown_person_has_no_access_until_an_admin_gives_a_role(client, users, issuer, login):
    oidc_provider.set_user(
        issuer,
        "sub-new",
        {"preferred_username": "new.colleague", "name": "New Colleague", "groups": ["lims-qa"]},
    )

    refused = sso_sign_in(client, "sub-new")

    assert refused.status_code == 403
    assert "waits for an admin of the LIMS to give it a role" in text_of(refused)
    assert client.get("/").status_code == 302  # not signed in
    person = db.session.scalar(select(User).where(User.oidc_subject == "sub-new"))
    assert (person.username, person.role, person.full_name) == (
        "new.colleague",
        "pending",
        "New Colleague",
    )
    [created] = entries("user_created")
    assert created["via"] == "sso" and created["to_role"] == "pending"

    admin = login("admin")
    listed = text_of(admin.get("/admin/users"))
    assert re.search(r"new\.colleague New Colleague .*Pending \(no access\)", listed)
    assert "waiting for a role" in listed
    shown = text_of(admin.get(f"/admin/users/{person.id}"))
    assert f"Single sign-on linked to sub-new at {issuer}" in shown
    given = admin.post(
        f"/admin/users/{person.id}/role",
        data={"role-role": "technician", "role-reason": "new starter"},
    )
    assert given.status_code == 302, text_of(given)[:2000]
    [assigned] = entries("role_changed")
    assert (assigned["from_role"], assigned["to_role"], assigned["actor"]) == (
        "pending",
        "technician",
        "Test Admin",
    )
    admin.post("/logout")

    assert sso_sign_in(client, "sub-new").status_code == 302
    db.session.refresh(person)
    assert person.role == "qa"  # from now on the mapping applies at each sign-in


def test_an_admin_unlinks_an_account_and_its_next_sign_in_links_it_again(
    client, users, issuer, login
):
    oidc_provider.set_user(issuer, "sub-old", {"preferred_username": "doctor"})
    oidc_provider.set_user(issuer, "sub-new-id", {"preferred_username": "doctor"})
    assert sso_sign_in(client, "sub-old").status_code == 302
    client.post("/logout")
    assert sso_sign_in(client, "sub-new-id").status_code == 409  # linked elsewhere
    doctor = users["clinician"]

    admin = login("admin")
    shown = admin.get(f"/admin/users/{doctor.id}")
    assert "Unlink doctor" in shown.get_data(as_text=True)
    done = admin.post(f"/admin/users/{doctor.id}/sso-unlink", data={"sso-reason": "new ID card"})
    again = admin.post(f"/admin/users/{doctor.id}/sso-unlink", data={})
    admin.post("/logout")

    assert done.status_code == 302 and again.status_code == 409
    [unlinked] = entries("sso_unlinked")
    assert (unlinked["subject"], unlinked["actor"]) == ("sub-old", "Test Admin")
    assert sso_sign_in(client, "sub-new-id").status_code == 302
    db.session.refresh(doctor)
    assert doctor.oidc_subject == "sub-new-id"


def test_a_deactivated_account_is_refused_and_nothing_changes(client, users, issuer):
    oidc_provider.set_user(issuer, "sub-doc", {"preferred_username": "doctor", "groups": []})
    accounts.deactivate(users["clinician"], by=users["admin"], reason="left")
    count = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    refused = sso_sign_in(client, "sub-doc")

    assert refused.status_code == 403 and "deactivated" in text_of(refused)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == count
    db.session.refresh(users["clinician"])
    assert users["clinician"].oidc_subject is None


def test_without_local_passwords_only_an_unlinked_admin_uses_the_password_form(app, client, users):
    app.config["LOCAL_PASSWORDS"] = False

    refused = client.post("/login", data={"username": "tech", "password": PASSWORD})
    token = client.post("/api/v1/tokens", json={"username": "tech", "password": PASSWORD})

    assert refused.status_code == 401
    assert "Passwords are for emergency admin accounts only: sign in with Hospital ID" in text_of(
        refused
    )
    assert token.status_code == 401
    assert "Passwords sign in only the emergency (break-glass) admin accounts" in text_of(
        client.get("/login")
    )
    admin = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert admin.status_code == 302


def test_a_forged_or_replayed_state_is_refused_with_a_clear_page(client, users, issuer):
    oidc_provider.set_user(issuer, "sub-qa", {"preferred_username": "qa", "groups": []})
    started = client.get("/login/sso")
    back = oidc_provider.sign_in_at_provider(started.location, "sub-qa")
    state = oidc_provider.query(back)["state"]

    forged = client.get(back.replace(f"state={state}", "state=forged-by-someone"))

    assert forged.status_code == 400
    assert "its state does not match" in text_of(forged)
    assert client.get(back).status_code == 302  # the real answer still signs in, once
    client.post("/logout")
    replayed = client.get(back)
    assert replayed.status_code == 400 and "state does not match" in text_of(replayed)
    assert client.get("/").status_code == 302


def test_a_sign_in_the_person_declines_at_the_provider_is_a_clear_400(client, users):
    started = client.get("/login/sso")
    declined = oidc_provider.requests.post(
        started.location, data={"action": "deny"}, timeout=5, allow_redirects=False
    )

    answer = client.get(declined.headers["Location"])

    assert answer.status_code == 400
    assert "The sign-in provider refused the sign-in: " in text_of(answer)
    assert "denied the request" in text_of(answer)
    assert client.get("/").status_code == 302


@pytest.fixture
def deviation_id(register, users) -> int:
    product = walk(register("ADIPOSE"), "quarantine", users)
    units.perform_action(product.id, "record_qc", qc_data("viability", 40.0), users["technician"])
    db.session.commit()
    return db.session.scalar(select(func.max(Deviation.id)))


def close_form(password: str) -> dict[str, str]:
    return {
        "decision": "accepted_no_impact",
        "note": "re-tested on a second vial",
        "password": password,
        "meaning": "reviewed",
    }


@pytest.mark.req("P11-10")
def test_a_signing_password_is_set_after_reauthenticating_and_then_signs(
    app, client, users, issuer, deviation_id
):
    app.config["LOCAL_PASSWORDS"] = False  # the account's own password no longer signs
    oidc_provider.set_user(issuer, "sub-qa", {"preferred_username": "qa", "groups": ["lims-qa"]})
    assert sso_sign_in(client, "sub-qa").status_code == 302
    url = f"/audit/deviations/{deviation_id}/close"
    unset = client.post(url, data=close_form(PASSWORD))
    assert unset.status_code == 422 and "no signing password yet" in text_of(unset)
    early = client.post(
        "/account/signing-password", data={"new_password": "x" * 20, "new_password_again": "x" * 20}
    )
    assert early.status_code == 409 and "Sign in again at the provider first" in text_of(early)

    reauth = client.post("/account/signing-password/reauth")
    asked = oidc_provider.query(reauth.location)
    assert (asked["prompt"], asked["max_age"], asked["code_challenge_method"]) == (
        "login",
        "0",
        "S256",
    )
    back = client.get(oidc_provider.sign_in_at_provider(reauth.location, "sub-qa"))
    assert back.status_code == 302 and back.location == "/account/signing-password"
    chosen = "amber lantern over quiet river"
    done = client.post(
        "/account/signing-password", data={"new_password": chosen, "new_password_again": chosen}
    )
    assert done.status_code == 302
    [stamped] = entries("signing_password_set")
    assert stamped["actor"] == "Test Qa" and stamped["subject"] == "sub-qa"

    wrong = client.post(url, data=close_form(PASSWORD))
    assert wrong.status_code == 422 and "wrong password" in text_of(wrong)
    signed = client.post(url, data=close_form(chosen))
    assert signed.status_code == 302
    assert db.session.get(Deviation, deviation_id).closed_at is not None


def test_a_stale_or_someone_elses_reauthentication_sets_nothing(client, users, issuer):
    oidc_provider.set_user(issuer, "sub-qa", {"preferred_username": "qa", "groups": []})
    oidc_provider.set_user(issuer, "sub-other", {"preferred_username": "someone", "groups": []})
    assert sso_sign_in(client, "sub-qa").status_code == 302

    oidc_provider.AUTH_AGE_SECONDS[0] = 300
    stale = sso_sign_in(client, "sub-qa", reauth=True)
    oidc_provider.AUTH_AGE_SECONDS[0] = 0
    other = sso_sign_in(client, "sub-other", reauth=True)

    assert stale.status_code == 422 and "not fresh" in text_of(stale)
    assert other.status_code == 403 and "signed in someone else" in text_of(other)
    chosen = "amber lantern over quiet river"
    refused = client.post(
        "/account/signing-password", data={"new_password": chosen, "new_password_again": chosen}
    )
    assert refused.status_code == 409
    assert entries("signing_password_set") == []


def test_no_lock_is_held_while_the_provider_answers_a_reauthentication(app, client, users, issuer):
    """Decision 117: the callback of a re-authentication has read the person signed in (on
    SQLite a transaction that holds the write lock); it ends that read before exchanging the
    code with the provider, so a slow provider holds up no one else's writes."""
    oidc_provider.set_user(issuer, "sub-qa", {"preferred_username": "qa", "groups": ["lims-qa"]})
    assert sso_sign_in(client, "sub-qa").status_code == 302
    db.session.commit()  # the test itself holds nothing either
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    others: list[str] = []

    def another_writer_begins() -> None:
        probe = sqlite3.connect(path, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            others.append("wrote")
        except sqlite3.OperationalError as exc:
            others.append(str(exc))
        finally:
            probe.close()

    oidc_provider.ON_TOKEN_REQUEST.append(another_writer_begins)
    try:
        back = sso_sign_in(client, "sub-qa", reauth=True)
    finally:
        oidc_provider.ON_TOKEN_REQUEST.remove(another_writer_begins)
    assert back.status_code == 302 and back.location == "/account/signing-password"
    assert others == ["wrote"]  # not "database is locked"
