"""The API route × role table's rows for instrument result imports: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own
({id}, {product}, {patient}, {location}, {job} …): name -> maker(users, role, unit).

The upload is a multipart body: its ``body`` holds the file as ``(stream, filename)``, which
the table sends as ``multipart/form-data``."""

from __future__ import annotations

import io

from .access import Endpoint

IMPORTERS = frozenset({"technician", "qa"})
RECORDERS = frozenset({"technician"})  # who records QC (the lifecycle's record_qc roles)
EXPORT = b"Sample Name,Live Cell Count (cells/mL),Viability (%)\n=T00012600009974,2150000,88\n"


def _instrument() -> str:
    from tests.service.lab import BENCH_EQUIPMENT

    return BENCH_EQUIPMENT["cell_counter"]


def an_upload() -> dict:
    return {
        "file": (io.BytesIO(EXPORT), "export.csv"),
        "format": "cell_counter",
        "instrument": _instrument(),
        "lot": "VIA1-2611-04",
    }


def an_import(users, role, unit) -> int:
    """A counter's export a technician uploaded, not yet confirmed."""
    from lims.services.station import qc_import

    data = qc_import.Upload(EXPORT, "export.csv", "cell_counter", _instrument(), "VIA1-2611-04")
    return qc_import.upload(data, users["technician"]).id


ENDPOINTS: dict[str, Endpoint] = {
    "api.upload_qc_import": Endpoint("POST", "/qc-imports", IMPORTERS, 201, body=an_upload),
    "api.get_qc_import": Endpoint("GET", "/qc-imports/{qcimport}", IMPORTERS),
    "api.confirm_qc_import": Endpoint(
        "POST", "/qc-imports/{qcimport}/confirm", RECORDERS, body=lambda: None
    ),
}
ROWS: dict = {"qcimport": an_import}
