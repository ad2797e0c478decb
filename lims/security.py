"""The one role check, used by every route (web and API), and the throttles on passwords.

Three budgets of failures, each a stack of limits ("5 per 15 minutes; 10 per hour; 20 per
day": the wait grows as failures go on), counted in the limiter's storage (Redis in
production) and only when an attempt fails:

- a sign-in budget per account, keyed by the username tried, known or not (so a locked
  answer does not tell which usernames exist; ``LOGIN_THROTTLE``);
- a larger sign-in budget per address, against one address trying many usernames
  (``LOGIN_ADDRESS_THROTTLE``; behind a proxy set ``PROXY_COUNT`` so it is the client's);
- a budget per signed-in account for typing the password again (electronic signatures and
  the current password when changing it; ``SIGNING_THROTTLE``). It stops only that account's
  signing: never anyone's sign-in and never the address.

The web login and the API token endpoint both sign in through ``sign_in``; signing forms and
API actions are wrapped in ``signing_throttle`` and report a wrong password with
``note_refusal``. A spent budget answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import (
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from .domain.roles import Role
from .extensions import limiter
from .models import User
from .services.admin import accounts

log = logging.getLogger(__name__)

# endpoint function -> roles allowed (None: any signed-in user). Read by the route × role test.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {}


def roles_required(*roles: Role, during_password_change: bool = False) -> Callable:
    """Allow signed-in users of these roles; no roles given means any signed-in user.

    Anonymous users get 401 (the web login manager turns that into a redirect to the
    login page); signed-in users of another role get 403. A person whose password an admin
    set must choose their own first: every page sends them to the change-password page and
    the API answers 403 ``password_change_required``, but for the views marked
    ``during_password_change`` (changing the password, ending one's token).
    """
    allowed = frozenset(roles) or None
    role_names = frozenset(r.value for r in allowed) if allowed else None

    def decorate(view: Callable) -> Callable:
        ROUTE_ROLES[f"{view.__module__}.{view.__qualname__}"] = allowed

        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user._get_current_object()  # the proxy resolved once
            if not user.is_authenticated:
                abort(401)
            if user.must_change_password and not during_password_change:
                return _password_change_first()
            if role_names is not None and user.role not in role_names:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _password_change_first() -> ResponseReturnValue:
    if request.path.startswith("/fhir/"):  # an OperationOutcome (errors.py)
        from .domain.errors import Forbidden

        message = "choose your own password first: POST /api/v1/me/password"
        raise Forbidden(message, code="password_change_required")
    if wants_json():
        message = "choose your own password first: POST /api/v1/me/password"
        response = jsonify({"error": {"code": "password_change_required", "message": message}})
        response.status_code = 403
        return response
    return redirect(url_for("auth.change_password"))


def public(view: Callable) -> Callable:
    """Mark a route as open to anonymous users (login page, token endpoint, health)."""
    view.allowed_roles = "public"  # type: ignore[attr-defined]
    return view


def wants_json() -> bool:
    return request.path.startswith("/api/")


# ---------------------------------------------------------------------------- budgets


@dataclass(frozen=True)
class Budget:
    """One kind of failure budget: the counters' scope and the setting with its limits."""

    scope: str
    setting: str


PER_ACCOUNT = Budget("sign-in-account", "LOGIN_THROTTLE")
PER_ADDRESS = Budget("sign-in-address", "LOGIN_ADDRESS_THROTTLE")
PASSWORD_AGAIN = Budget("password-again", "SIGNING_THROTTLE")

# Redis unreachable: count in this process's memory for a while rather than fail every
# sign-in.
_FALLBACK = FixedWindowRateLimiter(MemoryStorage())
_FALLBACK_SECONDS = 30
_storage_down_until = 0.0


def _counted(action: Callable[[RateLimiter], object]) -> object:
    global _storage_down_until
    if time.monotonic() >= _storage_down_until:
        try:
            return action(limiter.limiter)
        except Exception:  # the storage is unreachable; never a 500 for it
            log.warning("rate-limit storage unreachable: counting in memory for a while")
            _storage_down_until = time.monotonic() + _FALLBACK_SECONDS
    return action(_FALLBACK)


def _limits(budget: Budget) -> list[RateLimitItem]:
    return parse_many(current_app.config[budget.setting])


def seconds_to_wait(budget: Budget, key: str) -> int:
    """0 when one more attempt may be made now; else the seconds until it may."""

    def wait(strategy: RateLimiter) -> int:
        waits = [
            math.ceil(strategy.get_window_stats(item, budget.scope, key).reset_time - time.time())
            for item in _limits(budget)
            if not strategy.test(item, budget.scope, key)
        ]
        return max([1, *waits]) if waits else 0

    return int(_counted(wait))  # type: ignore[call-overload]


def spend(budget: Budget, key: str) -> None:
    """Count one failure against every limit of the budget."""

    def hit(strategy: RateLimiter) -> None:
        for item in _limits(budget):
            strategy.hit(item, budget.scope, key)

    _counted(hit)


def account_key(username: object) -> str:
    """The per-account counter for a username as typed (any case, spaces around), hashed so
    that whatever was typed -- a password in the wrong field -- is not kept in Redis."""
    text = username.strip().lower()[:256] if isinstance(username, str) else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _address_key() -> str:
    return request.remote_addr or "unknown"


class TooManyAttempts(Exception):
    """A budget is spent: the message to show and the seconds until the next attempt."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(minutes / 60)} hours"


def sign_in(username: object, password: object) -> User | None:
    """The one sign-in of the web login and the API token endpoint: the account for these
    credentials, or None (a failure, counted against the username tried and the address).
    A spent budget raises ``TooManyAttempts`` before the password is checked, so a locked
    account cannot be probed, and a right password is refused like a wrong one until then."""
    account, address = account_key(username), _address_key()
    wait = seconds_to_wait(PER_ACCOUNT, account)
    if wait:
        raise TooManyAttempts(
            "Too many failed sign-ins for this username; try again in " + _in_words(wait) + ".",
            wait,
        )
    wait = seconds_to_wait(PER_ADDRESS, address)
    if wait:
        raise TooManyAttempts(
            "Too many failed sign-ins from your network address; try again in "
            + _in_words(wait)
            + ".",
            wait,
        )
    user = accounts.authenticate(username, password)
    if user is None:
        spend(PER_ACCOUNT, account)
        spend(PER_ADDRESS, address)
    return user


def too_many(exc: TooManyAttempts, page: Callable[[str], str] | None = None):
    """The 429 answer: the API's JSON error, or a page (``page(message)``, else the error
    page), with ``Retry-After``."""
    if wants_json():
        response = jsonify({"error": {"code": "too_many_requests", "message": exc.message}})
    else:
        html = page(exc.message) if page else None
        response = make_response(
            html or render_template("error.html", status=429, message=exc.message)
        )
    response.status_code = 429
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# ---------------------------------------------------------------------------- signing

SECRET_FIELDS = ("password", "current_password", "checked_by_password")


def _carries_password() -> bool:
    """A request that sends the signer's password again (a signature, a password change)."""
    if any(request.form.get(name) is not None for name in SECRET_FIELDS):
        return True
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except (RecursionError, ValueError):  # the view refuses such a body itself
        return False
    return isinstance(body, dict) and any(name in body for name in SECRET_FIELDS)


def _signer_key() -> str:
    return str(current_user.id)


def signing_wait() -> int:
    """Seconds the signed-in person must wait before typing their password again (0: now)."""
    return seconds_to_wait(PASSWORD_AGAIN, _signer_key())


def signing_throttle(view: Callable) -> Callable:
    """Wrap a view that may take the signed-in person's password again (a signature, a
    password change): once their budget of wrong passwords is spent it answers 429 without
    looking at the password. Requests without a password (every other action) go on.
    Place it under ``roles_required``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "POST" and current_user.is_authenticated and _carries_password():
            wait = signing_wait()
            if wait:
                message = (
                    "Too many wrong passwords: signing with your account is paused; try "
                    f"again in {_in_words(wait)}."
                )
                return too_many(TooManyAttempts(message, wait))
        return view(*args, **kwargs)

    return wrapper


def note_refusal(code: str) -> None:
    """Entrypoints tell us about each refusal; a wrong password typed again (a signature,
    the current password) counts against the signed-in person's own signing budget."""
    if code == "wrong_password" and current_user.is_authenticated:
        spend(PASSWORD_AGAIN, _signer_key())
