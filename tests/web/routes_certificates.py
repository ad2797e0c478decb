"""The route × role table's rows for the certificate of release pages: endpoint -> (method,
url template, roles that get the page), and the maker of ``{certified}``: the product of the
table's unit, taken through processing, QC and QA's release (which issues certificate 1)."""

from __future__ import annotations

from tests.service.lab import walk

ALL = {"technician", "clinician", "qa", "admin"}

ROUTES: dict[str, tuple] = {
    "units.certificate_page": ("GET", "/units/{certified}/certificate", ALL),
    # The travelling copy; the file copy's roles are checked in tests/certificates.
    "units.certificate_download": ("GET", "/units/{certified}/certificate.pdf", ALL),
}


def a_certified_product(users, owner, unit) -> int:
    return walk(unit, "released", users).id


ROWS: dict = {"certified": a_certified_product}
