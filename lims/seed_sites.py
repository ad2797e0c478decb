"""Demo sites (decision 101): the installation's own site, made by migration 0015 from the
configuration, is the central processing laboratory; a clinic that collects joins it. The
demo's clinician, technician, QA and admin work for both; the second clinician for the
laboratory alone, so she sees none of the clinic's units (decision 103)."""

from __future__ import annotations

from .models import Site, User
from .services.admin import sites

CLINIC = {
    "code": "C0002",
    "name": "Hair Clinic North",
    "address": "12 North Parade, Hair Restoration Clinic, 00000 City, Country",
    "kind": "clinic",
}


def stock(admin: User, *members: User) -> Site | None:
    """Register the clinic in the central laboratory's zone and add ``members`` to it; nothing
    without the migration's site (a schema made otherwise) or with the clinic already there."""
    known = sites.list_sites()
    if not known or any(s.code == CLINIC["code"] for s in known):
        return None
    home = known[0]
    clinic = sites.register_site({**CLINIC, "timezone": home.timezone}, admin)
    for user in members:
        sites.set_memberships(user.id, [s.id for s in (*sites.sites_of(user), clinic)], admin)
    return clinic
