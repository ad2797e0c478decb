"""Single sign-on's account rules (decisions 105-106), on SQLite and PostgreSQL: the link by
claim (a case-insensitive match the two databases could answer differently), the subject
afterwards, refusals that change nothing, the username of a new account, the signing
password and the re-authentication it needs, and LOCAL_PASSWORDS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid
from lims.extensions import db
from lims.models import LedgerEntry, User
from lims.models.types import utcnow
from lims.services.admin import accounts, sso
from lims.services.custody import signatures

from .lab import PASSWORD

ISSUER = "https://id.example.org/realms/hospital"
SIGNING = "amber lantern over quiet river"


@pytest.fixture
def provider(app):
    app.config.update(
        OIDC_ISSUER=ISSUER,
        OIDC_LINK_CLAIM="email",
        OIDC_ROLES_CLAIM="realm_access.roles",
        OIDC_ROLE_MAP="lims-admin=admin, lims-lab=technician",
    )


def entry_count() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry))


def test_a_first_sign_in_links_by_email_in_any_case_then_by_subject(provider, users):
    accounts.change_details(
        users["technician"], "Test Technician", "Tech@Lab.example", by=users["admin"]
    )

    first = sso.account_for_claims(
        {"sub": "s-1", "email": "tech@LAB.example", "realm_access": {"roles": ["lims-lab"]}}
    )
    again = sso.account_for_claims({"sub": "s-1", "email": "someone.else@lab.example"})

    assert first.id == again.id == users["technician"].id
    assert (again.oidc_issuer, again.oidc_subject, again.role) == (ISSUER, "s-1", "technician")
    actions = db.session.scalars(select(LedgerEntry.action).order_by(LedgerEntry.seq)).all()
    assert actions[-1] == "sso_linked" and "role_changed" not in actions


def test_refusals_change_nothing(provider, users):
    for person in ("technician", "technician2"):
        accounts.change_details(
            users[person], users[person].full_name, "lab@x.example", by=users["admin"]
        )
    before = entry_count()

    with pytest.raises(Conflict) as twice:
        sso.account_for_claims({"sub": "s-2", "email": "lab@x.example"})
    with pytest.raises(Invalid):
        sso.account_for_claims({"email": "lab@x.example"})

    assert twice.value.code == "ambiguous_link"
    assert entry_count() == before
    assert db.session.scalar(select(func.count()).where(User.oidc_subject.is_not(None))) == 0


def test_an_account_linked_elsewhere_is_not_taken_over(provider, users):
    accounts.change_details(users["qa"], "Test Qa", "qa@x.example", by=users["admin"])
    sso.account_for_claims({"sub": "s-qa", "email": "qa@x.example"})

    with pytest.raises(Conflict) as refused:
        sso.account_for_claims({"sub": "s-intruder", "email": "qa@x.example"})

    assert refused.value.code == "linked_elsewhere"
    db.session.refresh(users["qa"])
    assert users["qa"].oidc_subject == "s-qa"


def test_an_unverified_email_links_nothing_and_a_new_account_gets_a_free_username(provider, users):
    accounts.change_details(users["admin"], "Test Admin", "admin@x.example", by=users["admin"])
    claims = {"sub": "s-3", "email": "admin@x.example", "email_verified": False, "name": "Eve"}

    with pytest.raises(Forbidden) as pending:
        sso.account_for_claims({**claims, "realm_access": {"roles": ["lims-admin"]}})

    assert pending.value.code == "pending_role"
    made = db.session.scalar(select(User).where(User.oidc_subject == "s-3"))
    assert (made.username, made.role, made.has_password) == ("admin-2", "pending", False)
    db.session.refresh(users["admin"])
    assert users["admin"].oidc_subject is None
    assert accounts.authenticate("admin-2", "!") is None


def test_a_deactivated_account_is_refused_before_it_is_linked(provider, users):
    accounts.change_details(
        users["clinician"], "Test Clinician", "doc@x.example", by=users["admin"]
    )
    accounts.deactivate(users["clinician"], by=users["admin"])
    before = entry_count()

    with pytest.raises(Forbidden) as refused:
        sso.account_for_claims({"sub": "s-4", "email": "doc@x.example"})

    assert refused.value.code == "account_deactivated" and entry_count() == before


def test_a_linked_person_signs_with_the_signing_password_set_after_reauthentication(
    app, provider, users
):
    accounts.change_details(users["qa"], "Test Qa", "qa@x.example", by=users["admin"])
    qa = sso.account_for_claims({"sub": "s-qa", "email": "qa@x.example"})
    now = utcnow()
    fresh = {"sub": "s-qa", "auth_time": int(now.timestamp()) - 10}

    with pytest.raises(Invalid) as stale:
        sso.check_reauthentication(qa, {**fresh, "auth_time": fresh["auth_time"] - 120}, now)
    with pytest.raises(Invalid) as undated:
        sso.check_reauthentication(qa, {"sub": "s-qa"}, now)
    with pytest.raises(Forbidden):
        sso.check_reauthentication(qa, {**fresh, "sub": "s-other"}, now)
    at = sso.check_reauthentication(qa, fresh, now - timedelta(seconds=30))
    with pytest.raises(Invalid) as late:
        sso.set_signing_password(qa, SIGNING, reauthenticated_at=at - timedelta(minutes=6))
    sso.set_signing_password(qa, SIGNING, reauthenticated_at=at)

    assert stale.value.code == undated.value.code == "reauth_not_fresh"
    assert late.value.code == "reauth_expired"
    signatures.check_password(qa, SIGNING)
    with pytest.raises(Invalid) as old:
        signatures.check_password(qa, PASSWORD)  # the local password no longer signs
    assert old.value.code == "wrong_password"
    with pytest.raises(Conflict):
        sso.set_signing_password(users["technician"], SIGNING, reauthenticated_at=at)


def test_without_local_passwords_only_an_unlinked_admin_signs_in_with_one(app, provider, users):
    accounts.change_details(users["admin"], "Test Admin", "admin@x.example", by=users["admin"])
    app.config["LOCAL_PASSWORDS"] = False

    assert accounts.authenticate("admin", PASSWORD).id == users["admin"].id  # break-glass
    assert accounts.authenticate("tech", PASSWORD) is None
    with pytest.raises(Invalid) as unset:
        signatures.check_password(users["technician"], PASSWORD)
    assert unset.value.code == "wrong_password"
    sso.account_for_claims({"sub": "s-a", "email": "admin@x.example"})  # linked: not any more
    assert accounts.authenticate("admin", PASSWORD) is None
