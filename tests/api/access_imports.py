"""The API route × role table's rows for bulk imports (admins only): endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own.

The upload is a multipart body: its ``body`` holds the file as ``(stream, filename)``."""

from __future__ import annotations

import io

from .access import Endpoint

ADMIN = frozenset({"admin"})
PATIENTS = b"mrn,name\r\nMRN-77,Ada Example\r\n"


def an_upload() -> dict:
    return {"file": (io.BytesIO(PATIENTS), "patients.csv"), "kind": "patients"}


def an_import(users, role, unit) -> int:
    """A dry run of a patients file the admin uploaded, not yet confirmed."""
    from lims.services.station import data_import

    return data_import.upload(
        data_import.Upload(PATIENTS, "patients.csv", "patients"), users["admin"]
    ).id


ENDPOINTS: dict[str, Endpoint] = {
    "api.upload_import": Endpoint("POST", "/imports", ADMIN, 201, body=an_upload),
    "api.get_import": Endpoint("GET", "/imports/{dataimport}", ADMIN),
    "api.confirm_import": Endpoint(
        "POST", "/imports/{dataimport}/confirm", ADMIN, 202, body=lambda: None
    ),
}
ROWS: dict = {"dataimport": an_import}
