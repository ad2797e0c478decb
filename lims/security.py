"""The one role check, used by every route (web and API)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user

from .domain.roles import Role

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
