"""``next`` leads only to a path on this site: after signing in, and an action form's Cancel
link and its redirect when done. Browsers drop tabs and newlines and read ``\\`` as ``/``,
so each trick below would otherwise send the user to another site."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lims.web.redirects import local_target
from tests.backends import backend  # noqa: F401  (SQLite alone: where a redirect leads)

PASSWORD = "test-pass-1234"

# As they arrive in a query string (percent-encoded), and what each becomes in a browser.
OFF_SITE = [
    "/%09/evil.example",  # "/\t/evil.example" -> //evil.example
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%0D%0A/evil.example",
    "%09//evil.example",
    "//evil.example",
    "/%2F/evil.example",  # //evil.example one decoding on
    "/%252F/evil.example",  # two decodings on
    "/%2509/evil.example",  # a tab two decodings on
    "/%5C/evil.example",  # "/\" -> //
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "%00/",
    "/%7F/evil.example",
    "/%E3%80%82/x%09",
]


@pytest.mark.parametrize("raw", OFF_SITE)
def test_a_next_address_off_this_site_is_refused(raw):
    from urllib.parse import unquote

    assert local_target(unquote(raw)) is None


@pytest.mark.parametrize(
    "path", ["/units/7", "/station", "/release", "/units/?q=MRN-1&status=received", "/"]
)
def test_a_path_on_this_site_is_kept_as_given(path):
    assert local_target(path) == path


def test_nothing_given_is_nothing():
    assert local_target(None) is None and local_target("") is None


@pytest.mark.parametrize("raw", OFF_SITE)
def test_signing_in_never_follows_next_off_site(client, users, raw):
    response = client.post(f"/login?next={raw}", data={"username": "tech", "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"


def test_signing_in_follows_a_path_on_this_site(client, users):
    response = client.post(
        f"/login?next={quote('/units/?q=MRN-1')}", data={"username": "tech", "password": PASSWORD}
    )
    assert response.location == "/units/?q=MRN-1"


@pytest.mark.parametrize("raw", OFF_SITE)
def test_an_action_forms_cancel_link_stays_on_this_site(client, login, register, raw):
    unit = register("ADIPOSE")
    login("clinician")
    page = client.get(f"/units/{unit.id}/actions/dispatch?next={raw}").get_data(as_text=True)
    assert f'href="/units/{unit.id}">Cancel</a>' in page
    assert "evil" not in page


def test_an_action_forms_cancel_link_follows_a_local_next(client, login, register):
    unit = register("ADIPOSE")
    login("clinician")
    page = client.get(f"/units/{unit.id}/actions/dispatch?next=/station").get_data(as_text=True)
    assert 'href="/station">Cancel</a>' in page
