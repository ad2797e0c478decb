"""The frame around every page: navigation, who is signed in, sign-out, messages, the zone."""

from __future__ import annotations

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: the page layout)

from .conftest import ZONE, text_of


def test_the_top_bar_names_the_user_and_role_and_offers_the_main_pages(login):
    response = login("technician").get("/units/")

    html, page = response.get_data(as_text=True), text_of(response)
    assert "Test Technician Lab technician" in page
    for href in ('href="/units/"', 'href="/units/register"', 'href="/station"'):
        assert href in html
    assert '<form method="post" action="/logout"' in html
    assert f"Times shown in {ZONE}" in page


def test_the_current_page_is_marked_in_the_navigation(login):
    html = login("technician").get("/scan").get_data(as_text=True)

    assert '<a href="/station" aria-current="page">Scan station</a>' in html


def test_signing_out_ends_the_session(login):
    client = login("clinician")

    response = client.post("/logout", follow_redirects=True)

    assert "Signed out." in text_of(response)
    assert client.get("/units/").status_code == 302


def test_the_start_page_is_the_units_list(login):
    response = login("technician").get("/")

    assert response.status_code == 302 and response.location.endswith("/units/")


def test_the_sign_in_page(client):
    response = client.get("/login")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert 'href="/logout"' not in html and "Sign out" not in html


def test_a_wrong_password_is_answered_on_the_sign_in_page(client, users):
    response = client.post("/login", data={"username": "tech", "password": "wrong-password"})

    assert response.status_code == 401
    assert "Unknown username or wrong password." in text_of(response)


@pytest.mark.req("P11-5", "A11-4")
@pytest.mark.parametrize("url", ["/units/", "/units/1", "/units/1/actions/receive", "/scan"])
def test_pages_need_a_signed_in_user(client, url):
    response = client.get(url)

    assert response.status_code == 302 and "/login" in response.location


def test_static_assets_are_our_own(login):
    html = login("technician").get("/units/register").get_data(as_text=True)

    assert "/static/css/app.css" in html and "/static/js/app.js" in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
