"""The route × role table's rows for the audit search and unit report pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

AUDITORS = {"qa", "admin"}

ROUTES: dict[str, tuple] = {
    "audit.ledger_search": ("GET", "/audit/ledger?unit={id}", AUDITORS),
    "audit.ledger_extract": ("GET", "/audit/ledger.csv?unit={id}", AUDITORS),
    "audit.unit_report": ("GET", "/audit/units/{id}/report", AUDITORS),
    "audit.unit_report_csv": ("GET", "/audit/units/{id}/report.csv", AUDITORS),
    "audit.unit_report_pdf": ("GET", "/audit/units/{id}/report.pdf", AUDITORS),
}
ROWS: dict = {}
