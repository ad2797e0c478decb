"""Demo data for single sign-on (decision 105): a newcomer who signed in once at the demo's
provider (``DEMO_SSO=1 make run``, tests/oidc_provider.py on 127.0.0.1:9400) and waits on
/admin/users for an admin to give a role."""

from __future__ import annotations

from .domain.errors import Forbidden
from .services.admin import sso

DEMO_ISSUER = "http://127.0.0.1:9400"
# The Makefile's provider (its role map does not touch a pending account, so none here).
DEMO_PROVIDER = sso.Provider(
    issuer=DEMO_ISSUER,
    name="Demo IdP",
    link_claim="preferred_username",
    roles_claim="groups",
    role_map=(),
)


def stock() -> None:
    claims = {"sub": "newcomer", "preferred_username": "newcomer", "name": "New Colleague"}
    try:
        sso.account_for_claims(claims, DEMO_PROVIDER)
    except Forbidden as exc:  # pending: what a newcomer's first sign-in answers
        assert exc.code == "pending_role", exc
