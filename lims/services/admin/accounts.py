"""User accounts and API tokens, and the admin's changes to accounts.

Accounts are never deleted: a person's ledger entries and signatures name them for good, so
an admin deactivates instead (their sessions and API tokens stop working at once). Every
change an admin makes -- creating an account, changing a role, deactivating, reactivating,
resetting a password -- is a ledger entry with no unit, written in the same transaction as
the change, so it is attributable and tamper-evident like every custody record. The entry
names the account and what changed; never a password or its hash.

``create_user`` and ``change_role`` without ``by`` are the bootstrap path (the ``users
create`` command, demo data, tests): whoever has the server's shell is not an account.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import with_expression

from ...db import lock, transaction
from ...domain import passwords
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound
from ...domain.roles import PEOPLE, Role
from ...driver import DriverSelect, attach, column_keys
from ...extensions import db
from ...models import ApiToken, LedgerEntry, User
from ...models.site import missing_sites
from ...models.types import utcnow
from ..custody import ledger

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
REASON_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # a reason may have lines
MIN_PASSWORD = passwords.MIN_LENGTH
MAX_PASSWORD = passwords.MAX_LENGTH
MAX_NAME = 120  # users.full_name
MAX_EMAIL = 254  # users.email
MAX_REASON = 500


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, code="invalid_fields", fields={field: message})


def _check_username(username: object) -> str:
    if not isinstance(username, str):
        raise _invalid(
            "username", "a username is 2-64 characters: lower-case letters, digits, . _ -"
        )
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise _invalid(
            "username", "a username is 2-64 characters: lower-case letters, digits, . _ -"
        )
    if username == SYSTEM_USERNAME:
        raise _invalid("username", f"{SYSTEM_USERNAME!r} is reserved for scheduled work")
    return username


def _check_role(role: object) -> str:
    if role not in {r.value for r in PEOPLE}:
        roles = ", ".join(sorted(r.value for r in PEOPLE))
        raise _invalid("role", f"unknown role {role!r}; roles: {roles}")
    return str(role)


def _check_password(password: object, username: str, field: str = "password") -> str:
    """The domain's rules for a new password (``domain.passwords``), refused beside ``field``."""
    problem = passwords.password_problem(password, username)
    if problem:
        raise _invalid(field, problem)
    assert isinstance(password, str)  # password_problem refuses anything else
    return password


def _check_full_name(full_name: object, *, required: bool) -> str | None:
    text = " ".join(full_name.split()) if isinstance(full_name, str) else ""
    if not text:
        if required:
            raise _invalid("full_name", "a printed name is needed (it appears on signatures)")
        return None
    if len(text) > MAX_NAME or CONTROL_RE.search(full_name):  # type: ignore[arg-type]
        raise _invalid("full_name", f"a printed name is 1 to {MAX_NAME} plain characters")
    return text


def _check_email(email: object) -> str | None:
    text = email.strip() if isinstance(email, str) else ""
    if not text:
        return None  # no address: in-app notifications only
    if len(text) > MAX_EMAIL or CONTROL_RE.search(text) or not EMAIL_RE.match(text):
        raise _invalid("email", "not an e-mail address (name@example.org)")
    return text


def _check_reason(reason: object) -> str | None:
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) > MAX_REASON or REASON_CONTROL_RE.search(text):
        raise _invalid("reason", f"a reason is at most {MAX_REASON} plain characters")
    return text or None


def create_user(
    username: str,
    role: str,
    password: str,
    *,
    full_name: str | None = None,
    email: str | None = None,
    by: User | None = None,
    reason: str | None = None,
) -> User:
    """Create an account. ``by``: the admin who does it (a printed name is then required and
    the creation is recorded in the ledger, and the person chooses their own password at
    the first sign-in: the admin typed this one); without it, the bootstrap path."""
    username = _check_username(username)
    role = _check_role(role)
    password = _check_password(password, username)
    name = _check_full_name(full_name, required=by is not None)
    address = _check_email(email)
    why = _check_reason(reason)
    with transaction():
        if by is not None:
            _lock_accounts(by)
        if db.session.scalar(select(User).where(User.username == username)):
            raise Conflict(
                f"user {username} already exists",
                code="username_taken",
                fields={"username": f"{username} already exists (accounts are never deleted)"},
            )
        user = User(
            username=username,
            role=role,
            full_name=name or username,
            email=address,
            must_change_password=by is not None,
        )
        user.set_password(password)
        db.session.add(user)
        if by is not None:
            _record(
                "user_created", by, user, why, to_role=role, full_name=user.full_name, email=address
            )
    return user


def authenticate(username: object, password: object) -> User | None:
    """The active account with this username and password, or None. Every answer costs one
    password check at the configured cost -- for an unknown or deactivated username too --
    so the time taken does not tell which accounts exist. (Throttling failures is the
    entrypoints' ``security.sign_in``.)"""
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 64:
        return None
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.is_active:  # deactivated, or pending a role (decision 105)
        User.check_no_password(password)
        return None
    if not user.may_use_password(current_app.config.get("LOCAL_PASSWORDS", True)):
        User.check_no_password(password)  # local passwords are off: the provider signs in
        return None
    if not user.check_password(password):
        return None
    return user


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    with transaction():
        record = ApiToken(
            token_hash=ApiToken.digest(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(hours=hours),
        )
        db.session.add(record)
    return token, record


# Built once: a statement object keeps its cache key, so SQLAlchemy does not work it out
# again on every request (decision 96).
_TOKEN_HOLDER = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.active.is_(True),
    )
    .options(with_expression(User.sites_missing, missing_sites()))  # decision 103
    .execution_options(populate_existing=True)  # read afresh, whatever the session held
)
_SESSION_HOLDER = (
    select(User)
    .where(User.id == bindparam("user_id"))
    .options(with_expression(User.sites_missing, missing_sites()))
    .execution_options(populate_existing=True)
)


def user_for_session(user_id: int) -> User | None:
    """The person a signed-in session names, with what ``access`` asks of them next."""
    return db.session.scalar(_SESSION_HOLDER, {"user_id": user_id})


# The same question on the driver (decision 116): every API request asks it first.
_TOKEN_HOLDER_ROW = DriverSelect(
    select(
        *(getattr(User, key) for key in column_keys(User)), missing_sites().label("sites_missing")
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        User.active.is_(True),
    )
)


def user_for_token(token: str) -> User | None:
    """The active holder of an unexpired token, in one query (every API request asks)."""
    params = {"digest": ApiToken.digest(token), "now": utcnow()}
    row = _TOKEN_HOLDER_ROW.first(params)
    if row is None:
        return None
    # the session may hold the person already (a test's, a second sign-in): read afresh
    return attach(User, row) or db.session.scalar(_TOKEN_HOLDER, params)


def revoke_token(token: str, user: User) -> datetime:
    """End the bearer token a person signed in with (signing out of the API): from now on it
    is refused like an expired one. Only the holder's own, still valid token is ended."""
    now = utcnow()
    with transaction():
        ended = db.session.execute(
            update(ApiToken)
            .where(
                ApiToken.token_hash == ApiToken.digest(token),
                ApiToken.user_id == user.id,
                ApiToken.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not ended:
            raise NotFound("this token is not valid (expired or already revoked)")
    return now


SYSTEM_USERNAME = "system"


def system_user() -> User:
    """The account scheduled work acts as: it never signs in (inactive, no usable password)."""
    user = db.session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is not None:
        return user
    try:
        with transaction():
            user = User(
                username=SYSTEM_USERNAME,
                role=Role.SYSTEM.value,
                full_name="LIMS scheduler",
                active=False,
                password_hash="!",  # matches no password
            )
            db.session.add(user)
    except Conflict:  # created meanwhile by another worker
        user = db.session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
        assert user is not None
    return user


def change_role(
    user: User, role: str, *, by: User | None = None, reason: str | None = None
) -> User:
    """Give a person another role; what they did before stays theirs in the ledger.

    ``by``: the admin who does it (guarded and recorded); without it, the bootstrap path."""
    role = _check_role(role)
    why = _check_reason(reason)
    with transaction():
        if by is None:
            user.role = role
            return user
        _lock_accounts(by, user)
        if user.id == by.id:
            raise Forbidden(
                "you cannot change your own role; another admin can", code="own_account"
            )
        if user.role == role:
            raise Conflict(f"{user.username} already has the role {role}", code="unchanged")
        before = user.role
        user.role = role
        grant_ends = bool(user.all_patients) and role != Role.CLINICIAN.value
        user.all_patients = user.all_patients and not grant_ends
        extra = {"all_patients_ended": True} if grant_ends else {}
        _record("role_changed", by, user, why, from_role=before, to_role=role, **extra)
    return user


def active_clinicians() -> list[User]:
    """Who may receive a dispensed unit or co-sign an exceptional release."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.CLINICIAN.value, User.active.is_(True))
            .order_by(User.full_name, User.username)
        )
    )


# ---------------------------------------------------------------------------- admins


ADMIN_ACTIONS = (
    "user_created",
    "role_changed",
    "user_deactivated",
    "user_reactivated",
    "password_reset",
    "user_details_changed",
    "password_changed",  # by the person themselves, not an admin
    "access_granted",
    "access_revoked",
    "user_sites_changed",  # written by services.admin.sites
    "sso_linked",  # the rest by services.admin.sso (decisions 105-106)
    "sso_unlinked",
    "signing_password_set",
    "signing_password_changed",
    "import",  # an account created or updated by a bulk import (services.station.data_import)
)
# An entry about an account moves no unit: no status, custodian or location.
NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)


def _lock_accounts(admin: User, *targets: User) -> None:
    """Serialise account changes and read them afresh; the actor must still be an active
    admin. With "never yourself" this keeps one active admin at least: whoever demotes or
    deactivates another admin stays one, and of two admins demoting each other at once the
    second finds they are no longer admin."""
    lock("lims.accounts")
    for user in (admin, *targets):
        db.session.refresh(user)
    if admin.role != Role.ADMIN.value or not admin.active:
        raise Forbidden("only an active admin manages accounts")
    for user in targets:
        if user.role == Role.SYSTEM.value or user.username == SYSTEM_USERNAME:
            raise Forbidden(
                "the system account runs scheduled work and cannot be changed",
                code="system_account",
            )


def _record(action: str, admin: User, user: User, reason: str | None, **data: Any) -> None:
    db.session.flush()  # a new account has its id before the entry names it
    ledger.append(
        unit=None,
        action=action,
        actor=admin,
        movement=NO_MOVEMENT,
        data={"user_id": user.id, "username": user.username, **data},
        reason=reason,
    )


def _revoke_tokens(user: User, *, keep: str | None = None) -> int:
    """End the user's API tokens now (they expire; the rows stay), but for the token
    ``keep`` (the one the person is using to change their password)."""
    now = utcnow()
    ending = [ApiToken.user_id == user.id, ApiToken.expires_at > now]
    if keep is not None:
        ending.append(ApiToken.token_hash != ApiToken.digest(keep))
    return int(
        db.session.execute(
            update(ApiToken)
            .where(*ending)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def deactivate(user: User, *, by: User, reason: str | None = None) -> User:
    """The person can no longer sign in; their sessions and API tokens stop working at once.
    Nothing of theirs is deleted: the ledger keeps naming them."""
    why = _check_reason(reason)
    with transaction():
        _lock_accounts(by, user)
        if user.id == by.id:
            raise Forbidden("you cannot deactivate yourself; another admin can", code="own_account")
        if not user.active:
            raise Conflict(f"{user.username} is already deactivated", code="unchanged")
        user.active = False
        revoked = _revoke_tokens(user)
        _record("user_deactivated", by, user, why, role=user.role, tokens_revoked=revoked)
    return user


def reactivate(user: User, *, by: User, reason: str | None = None) -> User:
    why = _check_reason(reason)
    with transaction():
        _lock_accounts(by, user)
        if user.active:
            raise Conflict(f"{user.username} is already active", code="unchanged")
        user.active = True
        _record("user_reactivated", by, user, why, role=user.role)
    return user


def reset_password(user: User, password: str, *, by: User, reason: str | None = None) -> User:
    """Set a new password the admin hands over; the old one and any API token stop working,
    and the person must choose their own at the next sign-in, so the admin never knows the
    password the person goes on with."""
    password = _check_password(password, user.username)
    why = _check_reason(reason)
    with transaction():
        _lock_accounts(by, user)
        user.set_password(password)
        user.must_change_password = True
        revoked = _revoke_tokens(user)
        _record("password_reset", by, user, why, tokens_revoked=revoked)
    return user


def change_own_password(
    user: User, current: object, new: object, *, keeping_token: str | None = None
) -> int:
    """A person replaces their own password, proving the current one (as when signing);
    returns how many of their API tokens ended.

    Their other web sessions end (the session stamp follows the password) and their API
    tokens are revoked -- but ``keeping_token``, the token this change arrives with; the
    web entrypoint renews its own session. Clears "must change at next sign-in". Recorded as
    ``password_changed`` by the person, never with a password or hash. A wrong current
    password is refused as ``wrong_password`` (the entrypoints count it like a wrong
    signature password)."""
    with transaction():
        db.session.refresh(user)
        if not user.active:
            raise Forbidden("this account is deactivated", code="inactive")
        if not isinstance(current, str) or not user.check_password(current):
            raise Invalid(
                "wrong current password; nothing was changed",
                code="wrong_password",
                fields={"current_password": "wrong password"},
            )
        new = _check_password(new, user.username, field="new_password")
        if new == current:
            raise _invalid("new_password", "the new password must differ from the current one")
        user.set_password(new)
        user.must_change_password = False
        revoked = _revoke_tokens(user, keep=keeping_token)
        _record("password_changed", user, user, None, tokens_revoked=revoked)
    return revoked


def change_details(
    user: User, full_name: object, email: object, *, by: User, reason: str | None = None
) -> User:
    """A person's printed name or e-mail address, as an admin corrects it. Entries and
    signatures already made keep the name printed when they were made."""
    name = _check_full_name(full_name, required=True)
    address = _check_email(email)
    why = _check_reason(reason)
    with transaction():
        _lock_accounts(by, user)
        changed = {}
        if name != user.full_name:
            changed.update(from_full_name=user.full_name, to_full_name=name)
        if address != user.email:
            changed.update(from_email=user.email, to_email=address)
        if not changed:
            raise Conflict(f"{user.username}'s name and e-mail are already so", code="unchanged")
        user.full_name, user.email = name, address
        _record("user_details_changed", by, user, why, **changed)
    return user


def set_all_patients(user: User, granted: bool, *, by: User, reason: str | None = None) -> User:
    """Grant a clinician every patient, or take the grant back (decision 61): without it a
    clinician sees the patients they are named on. QA and admins see every patient anyway
    and technicians see what the lab holds, so only a clinician is granted."""
    why = _check_reason(reason)
    with transaction():
        _lock_accounts(by, user)
        if user.role != Role.CLINICIAN.value:
            raise Conflict(
                f"{user.username} is {Role(user.role).label.lower()}: only a clinician's access "
                "is limited to their own patients, so only a clinician is granted every patient",
                code="not_a_clinician",
            )
        if bool(user.all_patients) == granted:
            state = "may already see" if granted else "already sees only their own patients, not"
            raise Conflict(f"{user.username} {state} every patient", code="unchanged")
        user.all_patients = granted
        _record(
            "access_granted" if granted else "access_revoked", by, user, why, scope="all_patients"
        )
    return user


def people() -> list[User]:
    """Every account a person holds, active first, then by username (no system account)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role != Role.SYSTEM.value)
            .order_by(User.active.desc(), User.username)
        )
    )


def get_person(user_id: int) -> User:
    """A person's account; the system account and unknown ids are not found."""
    user = db.session.get(User, user_id)
    if user is None or user.role == Role.SYSTEM.value:
        raise NotFound(f"no user {user_id}")
    return user


@dataclass(frozen=True)
class AccountEvent:
    """One recorded change to an account, as the ledger holds it."""

    seq: int
    action: str
    at: datetime
    actor_name: str
    actor_role: str
    data: dict[str, Any]
    reason: str | None


def account_history(user: User) -> list[AccountEvent]:
    """The ledger's entries about this account, oldest first. Canonical JSON sorts keys, so
    ``"user_id":N,"username":`` names exactly this account's entries."""
    pattern = f'%"user_id":{int(user.id)},"username":%'
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.unit_id.is_(None),
            LedgerEntry.action.in_(ADMIN_ACTIONS),
            LedgerEntry.data.like(pattern),
        )
        .order_by(LedgerEntry.seq)
    )
    events = []
    for entry in entries:
        data = json.loads(entry.data)
        if data.get("user_id") != user.id:
            continue
        events.append(
            AccountEvent(
                entry.seq,
                entry.action,
                entry.recorded_at,
                entry.actor_name,
                entry.actor_role,
                data,
                entry.reason,
            )
        )
    return events
