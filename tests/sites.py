"""A second site for the tests that need one: the clinic that collects beside the
installation's own laboratory (decisions 101–103)."""

from __future__ import annotations

from typing import Any

from lims.models import Site, User

CLINIC = {
    "code": "C0002",
    "name": "Hair Clinic North",
    "address": "2 North Street, 00000 City",
    "timezone": "Europe/Paris",
    "kind": "clinic",
}


def a_clinic(admin: User, **overrides: Any) -> Site:
    """Register the clinic (or, with ``code`` and ``name``, another site like it)."""
    from lims.services.admin import sites

    return sites.register_site({**CLINIC, **overrides}, admin)
