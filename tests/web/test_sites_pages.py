"""The sites pages: the admin registers and edits a site (the facility number shown, never
sent again), refusals beside their fields, an account's sites set from its user page, and
the top bar naming the person's site once there are two."""

from __future__ import annotations

from lims.models import Site
from lims.services.admin import sites
from tests.backends import backend  # noqa: F401  (SQLite alone: the rules are tested on both in service/test_sites)
from tests.web.conftest import text_of

CLINIC = {
    "code": "C0002",
    "name": "Hair Clinic North",
    "address": "2 North Street",
    "timezone": "Europe/Paris",
    "kind": "clinic",
}


def test_an_admin_registers_a_site_and_finds_it_listed(client, login):
    login("admin")
    response = client.post("/admin/sites/new", data=CLINIC)
    assert response.status_code == 302
    listed = text_of(client.get("/admin/sites/"))
    assert "C0002" in listed and "Hair Clinic North" in listed and "Europe/Paris" in listed


def test_a_bad_zone_and_code_are_named_beside_their_fields(client, login):
    login("admin")
    response = client.post(
        "/admin/sites/new", data={**CLINIC, "code": "C02", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "Nothing was saved" in page
    assert "facility code" in page and "Mars/Olympus" in page
    assert [s.code for s in sites.list_sites()] == ["T0001"]


def test_an_edit_keeps_the_facility_number(client, login, users):
    clinic = sites.register_site(CLINIC, users["admin"])
    login("admin")
    page = text_of(client.get(f"/admin/sites/{clinic.id}/edit"))
    assert "Fixed once registered" in page
    response = client.post(
        f"/admin/sites/{clinic.id}/edit",
        data={**CLINIC, "code": "C0009", "name": "North Clinic", "active": "y"},
    )
    assert response.status_code == 302
    site = sites.get_site(clinic.id)
    assert (site.code, site.name) == ("C0002", "North Clinic")


def test_an_accounts_sites_are_set_on_its_page_and_named_in_the_top_bar(client, login, users):
    clinic = sites.register_site(CLINIC, users["admin"])
    home = sites.list_sites()[0]
    tech = users["technician"]
    login("admin")
    assert "Hair Clinic North (C0002)" in text_of(client.get(f"/admin/users/{tech.id}"))
    response = client.post(
        f"/admin/sites/members/{tech.id}", data={"site_ids": [str(home.id), str(clinic.id)]}
    )
    assert response.status_code == 302
    assert {s.code for s in sites.sites_of(tech)} == {"T0001", "C0002"}
    history = text_of(client.get(f"/admin/users/{tech.id}"))  # the change in the account's history
    assert "Sites changed" in history and "T0001 → C0002, T0001" in history
    client.post("/logout")
    login("technician")
    assert f"Site: {clinic.name}, {home.name}" in text_of(client.get("/units/"))


def test_an_empty_choice_is_refused_on_the_user_page(client, login, users):
    tech = users["technician"]
    login("admin")
    response = client.post(f"/admin/sites/members/{tech.id}", data={}, follow_redirects=True)
    assert "at least one active site" in text_of(response)
    assert [s.code for s in sites.sites_of(tech)] == ["T0001"]


def test_one_site_is_not_named_in_the_top_bar(client, login):
    login("technician")
    assert "Site:" not in text_of(client.get("/units/"))
    assert Site.query.count() == 1
