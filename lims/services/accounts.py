"""User accounts and API tokens."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..domain.roles import PEOPLE, Role
from ..extensions import db
from ..models import ApiToken, User
from ..models.types import utcnow
from .db import transaction
from .errors import Conflict, Invalid

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10


def create_user(
    username: str,
    role: str,
    password: str,
    *,
    full_name: str | None = None,
    email: str | None = None,
) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Invalid("a username is 2-64 characters: lower-case letters, digits, . _ -")
    if role not in {r.value for r in PEOPLE}:
        raise Invalid(f"unknown role {role!r}; roles: {', '.join(r.value for r in PEOPLE)}")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password has at least {MIN_PASSWORD} characters")
    with transaction():
        if db.session.scalar(select(User).where(User.username == username)):
            raise Conflict(f"user {username} already exists")
        user = User(username=username, role=role, full_name=full_name or username, email=email)
        user.set_password(password)
        db.session.add(user)
    return user


def authenticate(username: object, password: object) -> User | None:
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 64:
        return None
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not user.check_password(password):
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


def user_for_token(token: str) -> User | None:
    record = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.digest(token))
    )
    if record is None or record.expires_at <= utcnow() or not record.user.active:
        return None
    return record.user


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


def change_role(user: User, role: str) -> User:
    """Give a person another role; what they did before stays theirs in the ledger."""
    if role not in {r.value for r in PEOPLE}:
        raise Invalid(f"unknown role {role!r}; roles: {', '.join(r.value for r in PEOPLE)}")
    with transaction():
        user.role = role
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
