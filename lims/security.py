"""The one role check, used by every route (web and API)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user

from .domain.roles import Role
from .extensions import limiter

# endpoint function -> roles allowed (None: any signed-in user). Read by the route × role test.
ROUTE_ROLES: dict[str, frozenset[Role] | None] = {}


def roles_required(*roles: Role) -> Callable:
    """Allow signed-in users of these roles; no roles given means any signed-in user.

    Anonymous users get 401 (the web login manager turns that into a redirect to the
    login page); signed-in users of another role get 403.
    """
    allowed = frozenset(roles) or None

    def decorate(view: Callable) -> Callable:
        ROUTE_ROLES[f"{view.__module__}.{view.__qualname__}"] = allowed

        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if allowed is not None and current_user.role not in {r.value for r in allowed}:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(view: Callable) -> Callable:
    """Mark a route as open to anonymous users (login page, token endpoint, health)."""
    view.allowed_roles = "public"  # type: ignore[attr-defined]
    return view


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _sign_in_failed(response) -> bool:
    return bool(g.get("login_failed"))


def _sign_in_limit() -> str:
    return current_app.config["LOGIN_THROTTLE"]


# One budget of failed sign-ins per address, shared by the web login and the API token endpoint.
sign_in_throttle = limiter.shared_limit(
    _sign_in_limit,
    scope="sign-in",
    methods=["POST"],
    deduct_when=_sign_in_failed,
    error_message="Too many failed sign-ins; wait a few minutes and try again.",
)


def record_failed_sign_in() -> None:
    g.login_failed = True


def _carries_password() -> bool:
    """A request that sends a password (an electronic signature) is a sign-in attempt."""
    if request.form.get("password") is not None:
        return True
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except (RecursionError, ValueError):  # the view refuses such a body itself
        return False
    return isinstance(body, dict) and "password" in body


# Signing draws on the same budget: a wrong signature password counts like a failed login,
# so the signature form is no way around the login throttle. Requests without a password
# (every other action) neither count nor are stopped.
signing_throttle = limiter.shared_limit(
    _sign_in_limit,
    scope="sign-in",
    methods=["POST"],
    deduct_when=_sign_in_failed,
    exempt_when=lambda: not _carries_password(),
    error_message="Too many wrong passwords; wait a few minutes and try again.",
)


def note_refusal(code: str) -> None:
    """Entrypoints tell us about each refusal; a wrong signature password is a failed sign-in."""
    if code == "wrong_password":
        record_failed_sign_in()
