"""Single sign-on's accounts (decisions 105-106): the account a verified ID token names, linked
at the first sign-in by the configured claim; an account for a person nobody knew, pending
until an admin gives it a role; the claim -> role mapping at every sign-in; and the signing
password a person sets right after signing in again at the provider.

The entrypoint (``web/auth/sso.py``) has Authlib verify the ID token (signature, issuer,
audience, nonce, expiry) and hands the claims here. Every link, new account, mapped role
change and signing password is a ledger entry without a unit, as the admin's account changes
are (``accounts._record``); never a password or its hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ...db import lock, transaction
from ...domain import passwords, sso
from ...domain.errors import Conflict, Forbidden, Invalid
from ...domain.roles import Role
from ...extensions import db
from ...models import User
from ...models.types import utcnow
from . import accounts


@dataclass(frozen=True)
class Provider:
    """The configuration's provider, as plain values."""

    issuer: str
    name: str
    link_claim: str
    roles_claim: str
    role_map: tuple[tuple[str, str], ...]


def provider() -> Provider | None:
    """The configured provider, or None when single sign-on is off (no ``OIDC_ISSUER``)."""
    config = current_app.config
    if not config.get("OIDC_ISSUER"):
        return None
    return Provider(
        issuer=config["OIDC_ISSUER"],
        name=config["OIDC_PROVIDER_NAME"],
        link_claim=config["OIDC_LINK_CLAIM"],
        roles_claim=config["OIDC_ROLES_CLAIM"],
        role_map=sso.parse_role_map(config["OIDC_ROLE_MAP"]),
    )


def local_passwords() -> bool:
    return bool(current_app.config.get("LOCAL_PASSWORDS", True))


def _subject(claims: Mapping[str, object]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise Invalid("the provider's answer names nobody (no subject)", code="no_subject")
    return sub


def _refuse_inactive(user: User) -> None:
    if not user.active:
        raise Forbidden(
            "this account is deactivated: ask an admin of the LIMS", code="account_deactivated"
        )


def _by_link(link_claim: str, value: str) -> list[User]:
    column = User.email if link_claim == "email" else User.username
    return list(
        db.session.scalars(
            select(User)
            .where(func.lower(column) == value, User.role != Role.SYSTEM.value)
            .order_by(User.id)
            .limit(2)
        )
    )


def _free_username(base: str) -> str:
    taken = set(
        db.session.scalars(select(User.username).where(User.username.like(f"{base}%"))).all()
    )
    taken.add(accounts.SYSTEM_USERNAME)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _printed_name(claims: Mapping[str, object], username: str) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str))
    text = " ".join(accounts.CONTROL_RE.sub(" ", name).split())[: accounts.MAX_NAME]
    return text or username


def _address(claims: Mapping[str, object]) -> str | None:
    try:
        return accounts._check_email(claims.get("email"))
    except Invalid:
        return None


def _new_account(provider: Provider, sub: str, claims: Mapping[str, object]) -> User:
    username = _free_username(sso.username_base(claims))
    user = User(
        username=username,
        role=Role.PENDING.value,
        full_name=_printed_name(claims, username),
        email=_address(claims),
        password_hash="!",  # matches no password: this person signs in at the provider
        oidc_issuer=provider.issuer,
        oidc_subject=sub,
        oidc_linked_at=utcnow(),
    )
    db.session.add(user)
    accounts._record(
        "user_created",
        user,
        user,
        None,
        to_role=Role.PENDING.value,
        full_name=user.full_name,
        email=user.email,
        via="sso",
        issuer=provider.issuer,
        subject=sub,
    )
    return user


def _link(provider: Provider, user: User, sub: str, value: str) -> None:
    if user.oidc_subject is not None:
        raise Conflict(
            f"the account {user.username} is linked to another identity at the provider: "
            "ask an admin of the LIMS",
            code="linked_elsewhere",
        )
    user.oidc_issuer, user.oidc_subject, user.oidc_linked_at = provider.issuer, sub, utcnow()
    accounts._record(
        "sso_linked",
        user,
        user,
        None,
        issuer=provider.issuer,
        subject=sub,
        claim=provider.link_claim,
        value=value,
    )


def _apply_role_map(provider: Provider, user: User, claims: Mapping[str, object]) -> None:
    """The mapping's role replaces the account's when the person holds a mapped group and the
    account is not pending (its first role is an admin's); recorded as ``role_changed`` by the
    system account, naming the group that gave it."""
    role = sso.mapped_role(provider.role_map, claims, provider.roles_claim)
    if role is None or user.role in (role, Role.PENDING.value):
        return
    held = set(sso.claim_values(claims, provider.roles_claim))
    group = next(g for g, r in provider.role_map if r == role and g in held)
    before = user.role
    user.role = role
    grant_ends = bool(user.all_patients) and role != Role.CLINICIAN.value
    user.all_patients = user.all_patients and not grant_ends
    extra: dict[str, Any] = {"all_patients_ended": True} if grant_ends else {}
    accounts._record(
        "role_changed",
        accounts.system_user(),
        user,
        None,
        from_role=before,
        to_role=role,
        via="sso_role_map",
        claim=provider.roles_claim,
        group=group,
        **extra,
    )


def account_for_claims(claims: Mapping[str, object], found: Provider | None = None) -> User:
    """The account a verified ID token names, ready to be signed in.

    Matched by the provider's subject; at a first sign-in by the configured claim (linked
    then), or made anew as pending. The mapping applies to the role. Refused: a deactivated
    account (nothing changed), a pending one (``pending_role``: the new account and its entry
    are kept for the admin), a claim naming two accounts or an account linked elsewhere.
    ``found``: the provider, when not the configured one (demo data)."""
    found = found or provider()
    if found is None:
        raise Forbidden("single sign-on is not configured", code="sso_off")
    sub = _subject(claims)
    if found.role_map:
        accounts.system_user()  # exists before the transaction that may name it
    with transaction():
        lock("lims.accounts")
        user = db.session.scalar(
            select(User).where(User.oidc_issuer == found.issuer, User.oidc_subject == sub)
        )
        if user is not None:
            _refuse_inactive(user)
        else:
            value = sso.link_value(claims, found.link_claim)
            matches = _by_link(found.link_claim, value) if value else []
            if len(matches) > 1:
                raise Conflict(
                    f"more than one account has the {found.link_claim} {value}: ask an admin "
                    "of the LIMS to link yours",
                    code="ambiguous_link",
                )
            if matches:
                user = matches[0]
                _refuse_inactive(user)
                _link(found, user, sub, value or "")
            else:
                user = _new_account(found, sub, claims)
        _apply_role_map(found, user, claims)
    if user.role == Role.PENDING.value:
        raise Forbidden(
            f"your account {user.username} waits for an admin of the LIMS to give it a role; "
            "until then it has no access",
            code="pending_role",
        )
    return user


# ---------------------------------------------------------------------------- signing


def check_reauthentication(
    user: User, claims: Mapping[str, object], started_at: datetime, now: datetime | None = None
) -> datetime:
    """A re-authentication at the provider for setting a signing password: the token must
    name this account's identity and say the person typed their credentials within the last
    minute, after we asked (``auth_time``); returns that time."""
    now = now or utcnow()
    if (user.oidc_issuer, user.oidc_subject) != (
        current_app.config.get("OIDC_ISSUER"),
        claims.get("sub"),
    ):
        raise Forbidden(
            "the provider signed in someone else: sign in again there as yourself",
            code="other_identity",
        )
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        raise Invalid(
            "the provider did not say when you signed in (auth_time): a signing password "
            "needs a fresh sign-in there",
            code="reauth_not_fresh",
        )
    at = datetime.fromtimestamp(auth_time, UTC)
    skew = timedelta(seconds=sso.CLOCK_SKEW_SECONDS)
    if at < started_at - skew or now - at > timedelta(seconds=sso.REAUTH_MAX_AGE_SECONDS) + skew:
        raise Invalid(
            "your sign-in at the provider was not fresh (more than a minute old): try again",
            code="reauth_not_fresh",
        )
    return at


def set_signing_password(
    user: User, new: object, *, reauthenticated_at: datetime, now: datetime | None = None
) -> None:
    """The signing password of a person signed in by the provider, set within a few minutes
    of a verified re-authentication (``check_reauthentication``); hashed like a password,
    recorded as ``signing_password_set`` (first time) or ``signing_password_changed``."""
    now = now or utcnow()
    if now - reauthenticated_at > timedelta(seconds=sso.SIGNING_FORM_SECONDS):
        raise Invalid(
            "more than five minutes since you signed in again at the provider: do it again, "
            "then set the signing password",
            code="reauth_expired",
        )
    problem = passwords.password_problem(new, user.username)
    if problem:
        raise Invalid(problem, code="invalid_fields", fields={"new_password": problem})
    assert isinstance(new, str)
    with transaction():
        lock("lims.accounts")
        db.session.refresh(user)
        _refuse_inactive(user)
        if not user.sso_linked:
            raise Conflict(
                "only an account that signs in at the provider has a signing password; "
                "yours signs with its own password",
                code="not_linked",
            )
        first = user.signing_password_hash is None
        user.set_signing_password(new)
        user.signing_password_set_at = now
        accounts._record(
            "signing_password_set" if first else "signing_password_changed",
            user,
            user,
            None,
            issuer=user.oidc_issuer,
            subject=user.oidc_subject,
            reauthenticated_at=reauthenticated_at.isoformat(),
        )


def unlink(user: User, *, by: User, reason: str | None = None) -> User:
    """An admin ends an account's link to the provider (a person given a new identity
    there, a link made wrongly): the next sign-in links by the claim again; the signing
    password goes with the link. Recorded as ``sso_unlinked`` with what it was linked to."""
    why = accounts._check_reason(reason)
    with transaction():
        accounts._lock_accounts(by, user)
        if not user.sso_linked:
            raise Conflict(f"{user.username} is not linked to single sign-on", code="unchanged")
        issuer, subject = user.oidc_issuer, user.oidc_subject
        user.oidc_issuer = user.oidc_subject = None
        user.oidc_linked_at = user.signing_password_set_at = None
        user.signing_password_hash = None
        accounts._record("sso_unlinked", by, user, why, issuer=issuer, subject=subject)
    return user
