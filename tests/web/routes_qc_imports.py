"""The route × role table's rows for instrument result imports: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the URLs
name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

IMPORTERS = {"technician", "qa"}  # upload, preview, follow a job
RECORDERS = {"technician"}  # confirm: who records QC (the lifecycle's record_qc roles)

ROUTES: dict[str, tuple] = {
    "qc_imports.index": ("GET", "/qc-imports", IMPORTERS),
    "qc_imports.new": ("GET", "/qc-imports/new", IMPORTERS),  # the form; POST uploads
    "qc_imports.detail": ("GET", "/qc-imports/{qcimport}", IMPORTERS),
    "qc_imports.progress": ("GET", "/qc-imports/{qcimport}/progress.json", IMPORTERS),
    "qc_imports.confirm": ("POST", "/qc-imports/{qcimport}/confirm", RECORDERS),  # to its page
}


def an_import(users, owner, unit) -> int:
    """A counter's export a technician uploaded (its one sample is no unit), not confirmed."""
    from lims.services.station import qc_import
    from tests.service.lab import BENCH_EQUIPMENT

    export = b"Sample Name,Live Cell Count (cells/mL),Viability (%)\n=T00012600009974,2150000,88\n"
    data = qc_import.Upload(
        export, "export.csv", "cell_counter", BENCH_EQUIPMENT["cell_counter"], "VIA1-2611-04"
    )
    return qc_import.upload(data, users["technician"]).id


ROWS: dict = {"qcimport": an_import}
