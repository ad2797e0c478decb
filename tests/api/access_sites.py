"""The API route × role table's rows for the sites: endpoint name -> ``Endpoint``, and the
makers of any placeholder the paths name beyond the table's own: name -> maker(users, role,
unit)."""

from __future__ import annotations

from .access import Endpoint

EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})
ADMIN = frozenset({"admin"})
CLINIC = {
    "code": "C0002",
    "name": "Hair Clinic North",
    "address": "2 North Street",
    "timezone": "Europe/Paris",
    "kind": "clinic",
}


def a_clinic(users, role, unit) -> int:
    """A clinic the admin registered."""
    from lims.services.admin import sites

    return sites.register_site(CLINIC, users["admin"]).id


def a_person(users, role, unit) -> int:
    return users["technician2"].id


def _another_site() -> dict:
    """The body that moves an account to a second site (registered here)."""
    from lims.extensions import db
    from lims.models import Site

    site = Site(code="C0003", name="Lab 3", address="3 Lab Lane", timezone="UTC", kind="clinic")
    db.session.add(site)
    db.session.commit()
    return {"site_ids": [site.id]}


ENDPOINTS: dict[str, Endpoint] = {
    "api.list_sites": Endpoint("GET", "/sites", EVERYONE),
    "api.register_site": Endpoint("POST", "/sites", ADMIN, 201, body=lambda: dict(CLINIC)),
    "api.update_site": Endpoint(
        "POST", "/sites/{site}", ADMIN, body=lambda: {"name": "Hair Clinic North (Main St)"}
    ),
    "api.set_user_sites": Endpoint("POST", "/users/{person}/sites", ADMIN, body=_another_site),
}
ROWS: dict = {"site": a_clinic, "person": a_person}
