"""The route × role table's rows for single sign-on (decisions 105-106): endpoint -> (method,
url template, roles that get the page; None: public). The table's app has no provider
configured, so the sign-in routes send back to the sign-in page (302), as they do wherever
single sign-on is off; tests/web/test_sso.py runs them against a real provider."""

from __future__ import annotations

ALL = {"technician", "clinician", "qa", "admin"}

ROUTES: dict[str, tuple] = {
    "auth.sso_start": ("GET", "/login/sso", None),  # to the provider; off: to /login
    "auth.sso_callback": ("GET", "/login/sso/callback", None),  # the provider's answer
    # One's own; an account not linked is told it signs with its password.
    "auth.signing_password": ("GET", "/account/signing-password", ALL),
    # Sign in again at the provider (off, or not linked: back to the page above).
    "auth.signing_reauth": ("POST", "/account/signing-password/reauth", ALL),
    # The admin's unlink form on the person's page ({person}: routes_sites' maker).
    "admin.sso_unlink": ("GET", "/admin/users/{person}/sso-unlink", {"admin"}),
}

ROWS: dict = {}
