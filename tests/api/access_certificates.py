"""The API route × role table's row for the certificate of release: endpoint name ->
``Endpoint``, and the maker of ``{certified}``: the product of the fresh collection, taken
through processing, QC and QA's release (which issues its certificate 1)."""

from __future__ import annotations

from tests.service.lab import walk

from .access import Endpoint

EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})

ENDPOINTS: dict[str, Endpoint] = {
    # Any signed-in user who may see the unit: the travelling copy (the file copy's roles are
    # checked in tests/certificates).
    "api.unit_certificate": Endpoint("GET", "/units/{certified}/certificate", EVERYONE),
}


def a_certified_product(users, role, unit) -> int:
    return walk(unit, "released", users).id


ROWS: dict = {"certified": a_certified_product}
