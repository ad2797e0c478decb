"""Single sign-on's rules in plain values (decisions 105-106): the claim -> role mapping, the
claim an account is linked by, the username made for a person nobody knew, and how fresh a
re-authentication must be to set a signing password."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .roles import PEOPLE

LINK_CLAIMS = ("email", "preferred_username")
# The provider's auth_time must be at most this old when the callback reads it (a person
# who only just typed their credentials at the provider), and the page that takes the new
# signing password must be sent within this long of that callback.
REAUTH_MAX_AGE_SECONDS = 60
SIGNING_FORM_SECONDS = 300
CLOCK_SKEW_SECONDS = 5


class RoleMapError(ValueError):
    pass


def parse_role_map(text: str) -> tuple[tuple[str, str], ...]:
    """``"lims-qa=qa, lims-lab=technician"`` as (group, role) pairs, in the order written:
    the first pair whose group the person holds gives the role."""
    pairs: list[tuple[str, str]] = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        group, sep, role = part.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group:
            raise RoleMapError(f"{part.strip()!r} is not group=role")
        if role not in {r.value for r in PEOPLE}:
            roles = ", ".join(sorted(r.value for r in PEOPLE))
            raise RoleMapError(f"{part.strip()!r}: unknown role {role!r}; roles: {roles}")
        pairs.append((group, role))
    return tuple(pairs)


def claim_values(claims: Mapping[str, object], name: str) -> list[str]:
    """A claim holding groups or roles, as a list of strings: a list, one string, or the
    dotted path of a nested claim (Keycloak's ``realm_access.roles``)."""
    value: object = claims
    for key in name.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def mapped_role(
    role_map: tuple[tuple[str, str], ...], claims: Mapping[str, object], claim: str
) -> str | None:
    """The role the mapping gives this person, or None when no group of theirs is mapped."""
    held = set(claim_values(claims, claim))
    for group, role in role_map:
        if group in held:
            return role
    return None


def link_value(claims: Mapping[str, object], link_claim: str) -> str | None:
    """The value an account is linked by at a first sign-in: an e-mail address the provider
    says is verified (or does not say either way), or the preferred username; lower-cased."""
    value = claims.get(link_claim)
    if not isinstance(value, str) or not value.strip():
        return None
    if link_claim == "email" and claims.get("email_verified") is False:
        return None
    return value.strip().lower()


_NOT_USERNAME = re.compile(r"[^a-z0-9._-]+")


def username_base(claims: Mapping[str, object]) -> str:
    """A username for a new account, from the preferred username or the e-mail's local part,
    cut to the username rules (a number is added by the service when it is taken)."""
    for name in ("preferred_username", "email"):
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            text = value.strip().lower().split("@")[0]
            text = _NOT_USERNAME.sub("-", text).strip("._-")[:56]
            if len(text) >= 2:
                return text
    return "sso-user"
