"""The route × role table's rows for the sites pages: endpoint -> (method, url template,
roles that get the page; None: public), and the makers of any placeholder the URLs name
beyond the table's own."""

from __future__ import annotations

ADMINS = {"admin"}

ROUTES: dict[str, tuple] = {
    "sites.index": ("GET", "/admin/sites/", ADMINS),
    # The forms; POST registers or saves.
    "sites.new": ("GET", "/admin/sites/new", ADMINS),
    "sites.edit": ("GET", "/admin/sites/{site}/edit", ADMINS),
    # From the admin's user page; nothing chosen: refused, back to that page.
    "sites.set_user_sites": ("POST", "/admin/sites/members/{person}", ADMINS),
}


def a_site(users, owner, unit) -> int:
    """The installation's own site (migration 0015)."""
    from lims.services.admin import sites

    return sites.list_sites()[0].id


def a_person(users, owner, unit) -> int:
    return users["technician2"].id


ROWS: dict = {"site": a_site, "person": a_person}
