"""The API route × role table's rows for the validation reports: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.validation.stored import a_report

from .access import Endpoint

READERS = frozenset({"qa", "admin"})

ENDPOINTS: dict[str, Endpoint] = {
    "api.list_validation_reports": Endpoint("GET", "/validation-reports", READERS),
    "api.get_validation_report": Endpoint("GET", "/validation-reports/{report}", READERS),
    # Signed by QA; {report}: a clean report awaiting approval.
    "api.approve_validation_report": Endpoint(
        "POST",
        "/validation-reports/{report}/approve",
        frozenset({"qa"}),
        body=lambda: {"password": PASSWORD, "meaning": "approved"},
    ),
}

ROWS: dict = {"report": a_report}
