from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.roles import Role
from ..extensions import db
from .types import UTCDateTime, utcnow

# The hash of a random password per hashing method, made once per process: what an unknown
# or deactivated account's sign-in is checked against (``User.check_no_password``).
_STAND_IN_HASHES: dict[str, str] = {}


def _hash_method() -> str:
    from flask import current_app

    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # One account per identity at a provider (decision 105); unlinked accounts hold NULLs,
    # which a unique index never compares equal.
    __table_args__ = (Index("uq_users_oidc_identity", "oidc_issuer", "oidc_subject", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An admin set the password: the person chooses their own at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # A clinician an admin granted every patient (otherwise: their own, decision 61).
    all_patients: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many active sites the person is not a member of, read with the person by the
    # request's sign-in loaders (``models.site.missing_sites``): 0 spares every access check
    # of the request a query for their sites (decision 103). None: not read with them.
    sites_missing: Mapped[int | None] = query_expression()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Single sign-on (decisions 105-106): the provider's issuer and subject this account is
    # linked to, when it was linked, and the signing password the person set right after
    # signing in again at the provider (hashed like a password), with when.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    oidc_linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signing_password_hash: Mapped[str | None] = mapped_column(String(256))
    signing_password_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated and pending users cannot log in
        return self.active and self.role != Role.PENDING.value

    @property
    def sso_linked(self) -> bool:
        return self.oidc_subject is not None

    @property
    def has_password(self) -> bool:
        """False for an account made by single sign-on ("!" matches no password)."""
        return not self.password_hash.startswith("!")

    @property
    def break_glass(self) -> bool:
        """An admin account not linked to the provider: it keeps its password when local
        passwords are switched off (decision 105)."""
        return self.role == Role.ADMIN.value and not self.sso_linked

    def may_use_password(self, local_passwords: bool) -> bool:
        """Whether this account's own password signs it in (and signs) now."""
        return local_passwords or self.break_glass

    def set_signing_password(self, password: str) -> None:
        self.signing_password_hash = generate_password_hash(password, method=_hash_method())

    def check_signature_password(self, password: str, *, local_passwords: bool) -> bool:
        """The person's credential at the moment of signing (decision 106): an account linked
        to the provider that has set a signing password signs with it; any other account
        with its own password, where local passwords are allowed for it. Always one check
        at the configured cost."""
        if self.sso_linked and self.signing_password_hash:
            return check_password_hash(self.signing_password_hash, password)
        if not self.may_use_password(local_passwords):
            return self.check_no_password(password)
        return self.check_password(password)

    @property
    def session_stamp(self) -> str:
        """Changes with the password: a web session remembers it, so a new password (an
        admin's reset) ends the person's other sessions at once."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login: what the session cookie keeps
        return f"{self.id}:{self.session_stamp}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=_hash_method())

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password: str) -> bool:
        """Always False, after as much work as a real check at the configured cost: a
        sign-in for an unknown or deactivated account takes as long as one for an active
        account, so the answer's timing does not tell which usernames exist."""
        method = _hash_method()
        stand_in = _STAND_IN_HASHES.get(method)
        if stand_in is None:
            stand_in = generate_password_hash(secrets.token_hex(16), method=method)
            _STAND_IN_HASHES[method] = stand_in
        check_password_hash(stand_in, password)
        return False

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
