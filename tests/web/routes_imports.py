"""The route × role table's rows for bulk imports (admins only): endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the URLs
name beyond the table's own."""

from __future__ import annotations

ADMIN = {"admin"}

ROUTES: dict[str, tuple] = {
    "imports.index": ("GET", "/admin/imports", ADMIN),
    "imports.template": ("GET", "/admin/imports/templates/units.xlsx", ADMIN),  # a download
    "imports.new": ("GET", "/admin/imports/new", ADMIN),  # the form; POST uploads
    "imports.detail": ("GET", "/admin/imports/{dataimport}", ADMIN),
    "imports.progress": ("GET", "/admin/imports/{dataimport}/progress.json", ADMIN),
    # A dry run of unchanged rows only is nothing to import: back to its page, with a word.
    "imports.confirm": ("POST", "/admin/imports/{dataimport}/confirm", ADMIN),
}


def an_import(users, owner, unit) -> int:
    """A dry run of a patients file the admin uploaded: its one patient is the table's own."""
    from lims.services.station import data_import

    content = f"mrn,name\r\n{unit.patient.mrn},{unit.patient.name}\r\n".encode()
    return data_import.upload(
        data_import.Upload(content, "patients.csv", "patients"), users["admin"]
    ).id


ROWS: dict = {"dataimport": an_import}
