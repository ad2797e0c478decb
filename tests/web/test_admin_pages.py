"""The admin's other pages: the landing page, the read-only catalogue, location codes with
their label links, and the read-only notification settings (secrets never shown)."""

from __future__ import annotations

import re

import pytest

from lims.services import inbox
from lims.services.actions import qc
from lims.services.admin import accounts
from lims.services.admin.site_settings import safe_url
from tests.backends import backend  # noqa: F401  (SQLite alone: the admin pages; accounts and settings are tested on both in service/)
from tests.web.conftest import text_of

WEBHOOK = "https://hooks.example.org/lims/in?token=s3cr3t-query"
CONFIGURED = {
    "MAIL_SERVER": "smtp.example.org",
    "MAIL_PORT": 587,
    "MAIL_USE_TLS": True,
    "MAIL_USERNAME": "lims-mailer",
    "MAIL_PASSWORD": "mail-pass-do-not-show",
    "MAIL_FROM": "lims@example.org",
    "WEBHOOK_URL": WEBHOOK,
    "WEBHOOK_SECRET": "hook-secret-do-not-show",
    "NOTIFY_EXPIRY_WARNINGS_HOURS": [12, 2],
    "TRANSIT_OVERDUE_HOURS": 5,
}


def row(response, attribute: str, value: str) -> str:
    """The text of the table row marked ``data-<attribute>="<value>"``."""
    html = response.get_data(as_text=True)
    found = re.search(rf'<tr data-{attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_admin_nav_link_opens_the_landing_page(login, users):
    client = login("admin")
    html = client.get("/units/").get_data(as_text=True)
    assert re.search(r'<a href="/admin/"[^>]*>Admin</a>', html)

    landing = client.get("/admin/")

    assert landing.status_code == 200
    links = set(re.findall(r'href="([^"#?]+)', landing.get_data(as_text=True)))
    for target in (
        "/admin/users",
        "/admin/users/new",
        "/locations/",
        "/locations/new",
        "/admin/locations",
        "/admin/catalogue",
        "/admin/specs",
        "/admin/settings/notifications",
        "/admin/deliveries",
    ):
        assert target in links, target


def test_the_landing_page_counts_people(login, users):
    accounts.deactivate(users["clinician"], by=users["admin"])
    text = text_of(login("admin").get("/admin/"))
    assert "4 active, 1 deactivated; 1 active admin." in text


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("ADIPOSE", "ADIPOSE Adipose tissue, lipoaspirate S1010 source — 2–8 °C 24 h"),
        ("BLOOD", "BLOOD Peripheral blood (ACD-A) for PRP S1030 source (ACD-A) — 15–25 °C 4 h"),
        ("SVF", "SVF Stromal vascular fraction, adipose S2010 product ADIPOSE 2–8 °C 24 h"),
        ("MSC(M)", "MSC(M) Culture-expanded MSC, marrow S3020 product BM-MNC ≤ -150 °C 5 years"),
    ],
)
def test_the_catalogue_lists_each_unit_type(login, users, key, expected):
    response = login("admin").get("/admin/catalogue")
    assert row(response, "type", key).startswith(expected)


def test_the_catalogue_shows_protocol_steps_and_says_it_is_read_only(login, users):
    response = login("admin").get("/admin/catalogue")
    text = text_of(response)

    assert "Adipose → SVF (enzymatic digestion)" in text
    assert "Red-cell lysis optional · lysis buffer, lot recorded" in text
    assert "Read-only here." in text
    assert "<form" not in response.get_data(as_text=True).split('id="read-only-note"')[1]


def test_the_catalogue_shows_the_qc_spec_in_force_with_its_version(login, users):
    qc.publish_spec(
        "SVF",
        "viability",
        {"operator": ">=", "limit": 75, "required": True},
        "validation VR-12",
        users["admin"],
    )

    response = login("admin").get("/admin/catalogue")
    viability = row(response, "test", "viability")

    assert viability.startswith("Viability number in % ≥ 75 % v2 ≥ 70 % v1 — ")  # SVF, BM-MNC, PRP
    assert 'href="/admin/specs/SVF/viability"' in response.get_data(as_text=True)


def test_location_codes_link_to_their_labels(login, users, make_box):
    box = make_box("Box 7", rows=2, columns=2)

    response = login("admin").get("/admin/locations")
    html = response.get_data(as_text=True)

    assert row(response, "code", box.code).startswith(f"Box 7 box {box.code} 4 positions")
    assert f'href="/labels/locations/{box.id}"' in html
    positions = re.findall(r'href="/labels/locations/(\d+)"', html)
    assert len(positions) == 5  # the box and its four positions


def test_settings_show_the_embedded_defaults(login, users):
    accounts.create_user("mail", "qa", "long-enough-pw", full_name="Has Mail", email="m@x.org")
    response = login("admin").get("/admin/settings/notifications")
    text = text_of(response)

    assert "E-mail (SMTP) off off: no mail server is configured" in text
    assert "Signed webhook off" in text
    assert row(response, "env", "REDIS_URL").startswith("Redis (Celery broker) not configured")
    assert row(response, "env", "NOTIFY_EXPIRY_WARNINGS_HOURS").startswith(
        "Expiry warnings before expiry 24 h, 4 h, 1 h"
    )
    assert row(response, "env", "TRANSIT_OVERDUE_HOURS") == (
        "Transit overdue after 3 h TRANSIT_OVERDUE_HOURS"
    )
    assert "this server sends no e-mail" in row(response, "username", "mail")
    assert "no e-mail address: in-app only" in row(response, "username", "qa")


@pytest.mark.parametrize("app_config", [{"TIMEZONE": "Europe/Berlin", **CONFIGURED}])
def test_settings_show_what_is_configured_and_never_a_secret(login, users):
    response = login("admin").get("/admin/settings/notifications")
    html = response.get_data(as_text=True)

    assert "E-mail (SMTP) on" in text_of(response)
    assert row(response, "env", "MAIL_SERVER") == "SMTP server smtp.example.org MAIL_SERVER"
    assert row(response, "env", "MAIL_PASSWORD") == "Password set (not shown) MAIL_PASSWORD"
    assert row(response, "env", "WEBHOOK_SECRET").startswith("Signing secret set (not shown)")
    assert row(response, "env", "WEBHOOK_URL").startswith(
        "URL https://hooks.example.org/lims/in?•••"
    )
    assert row(response, "env", "NOTIFY_EXPIRY_WARNINGS_HOURS").startswith(
        "Expiry warnings before expiry 12 h, 2 h"
    )
    for secret in ("mail-pass-do-not-show", "hook-secret-do-not-show", "s3cr3t-query"):
        assert secret not in html


@pytest.mark.parametrize("app_config", [{"TIMEZONE": "Europe/Berlin", **CONFIGURED}])
def test_settings_show_who_gets_in_app_only_and_what_each_switched_off(login, users):
    accounts.create_user(
        "mail", "qa", "long-enough-pw", full_name="Has Mail", email="m@example.org"
    )
    inbox.save_preferences(
        users["technician"],
        {("unit_received", "email"): False, ("transit_overdue", "inapp"): False},
    )
    response = login("admin").get("/admin/settings/notifications")

    assert row(response, "username", "mail") == ("Has Mail mail QA m@example.org nothing nothing")
    assert row(response, "username", "tech") == (
        "Test Technician tech Lab technician no e-mail address: in-app only Transit overdue —"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (None, "not set"),
        ("https://hooks.example.org/x", "https://hooks.example.org/x"),
        (
            "https://user:pw@hooks.example.org:8443/x?k=v",
            "https://user:•••@hooks.example.org:8443/x?•••",
        ),
        ("redis://:secret@redis:6379/0", "redis://:•••@redis:6379/0"),
        ("http://[::1", "set (not a readable URL)"),
    ],
)
def test_a_url_is_shown_without_its_password_or_query(url, shown):
    assert safe_url(url) == shown
