"""The route × role table's rows for the validation reports under Audit: endpoint ->
(method, url template, roles that get the page; None: public), and the makers of any
placeholder the URLs name beyond the table's own."""

from __future__ import annotations

from tests.validation.stored import a_report

AUDITORS = {"qa", "admin"}

ROUTES: dict[str, tuple] = {
    "audit.validation_reports": ("GET", "/audit/validation", AUDITORS),
    "audit.validation_report": ("GET", "/audit/validation/{report}", AUDITORS),  # sandboxed
    "audit.validation_report_pdf": ("GET", "/audit/validation/{report}.pdf", AUDITORS),
    "audit.validation_report_json": ("GET", "/audit/validation/{report}.json", AUDITORS),
    # A GET of the approval's address shows the list with its form; POST signs (QA only).
    "audit.approve_validation_report": ("GET", "/audit/validation/{report}/approve", {"qa"}),
}
ROWS: dict = {"report": a_report}
