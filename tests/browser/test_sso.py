"""Single sign-on in Chromium (decision 105): a QA person clicks "Sign in with Hospital ID",
signs in on the real provider's page (tests/oidc_provider.py on 127.0.0.1), comes back signed
in with the role the provider's group maps to, and finds where to set a signing password."""

from __future__ import annotations

from typing import Any

import pytest

from tests import oidc_provider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider.serve() as url:
        yield url


@pytest.fixture
def app_config(issuer) -> dict[str, Any]:
    return {
        "TIMEZONE": "Europe/Berlin",
        "WTF_CSRF_ENABLED": True,
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "lims-browser",
        "OIDC_CLIENT_SECRET": "browser-secret",
        "OIDC_PROVIDER_NAME": "Hospital ID",
        "OIDC_LINK_CLAIM": "preferred_username",
        "OIDC_ROLE_MAP": "lims-qa=qa",
    }


def test_a_person_signs_in_through_the_providers_page(
    live_server, tablet, users, issuer, screenshot
):
    oidc_provider.set_user(
        issuer, "sub-browser-qa", {"preferred_username": "qa", "groups": ["lims-qa"]}
    )
    # The provider's page asks a CDN for its style sheet; the test runs offline.
    tablet.context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())

    tablet.goto(f"{live_server}/login")
    tablet.get_by_role("link", name="Sign in with Hospital ID").click()
    tablet.wait_for_url(f"{issuer}/oauth2/authorize?**")
    tablet.fill("input[name=sub]", "sub-browser-qa")
    screenshot(tablet, "provider")
    tablet.get_by_role("button", name="Authorize").click()

    tablet.wait_for_url(f"{live_server}/audit/**")  # QA's start page, signed in
    assert tablet.locator(".who-name").inner_text() == "Test Qa"
    assert tablet.locator(".who-role").inner_text() == "QA"
    tablet.get_by_role("link", name="Signing password").click()
    assert tablet.get_by_role("button", name="Sign in again at Hospital ID").is_visible()
    screenshot(tablet, "signing-password")
