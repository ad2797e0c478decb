"""A validation report kept through the service without running anything: the few parts
of a report's data the service reads (version, summary, PQ), for the page, API and
signature tests and the route × role tables."""

from __future__ import annotations

import secrets
from typing import Any

from lims.models import User, ValidationReport
from lims.services.admin import accounts
from lims.services.audit import validation


def report_data(*, failed: int = 0, claimed_not_met: int = 0, pq: str = "passed") -> dict:
    clean = failed == 0 and claimed_not_met == 0 and pq == "passed"
    return {
        "format": "lims-validation-report/1",
        "nonce": secrets.token_hex(8),  # each report its own digest
        "version": {"describe": "v-test-1", "commit": None},
        "summary": {
            "tests": {
                "passed": 12,
                "failed": failed,
                "error": 0,
                "skipped": 1,
                "xfailed": 0,
                "xpassed": 0,
                "total": 13 + failed,
            },
            "requirements": {
                "total": 5,
                "met": 4 - claimed_not_met,
                "claimed": 4,
                "claimed_not_met": claimed_not_met,
                "planned": 1,
            },
            "pq": pq,
            "ledger_intact": True,
            "clean": clean,
        },
        "pq": {"status": pq},
    }


def keep_report(by: User | None = None, **kwargs: Any) -> ValidationReport:
    data = report_data(**kwargs)
    return validation.record(
        data,
        "<!doctype html><html><head><style>p{color:red}</style></head>"
        "<body><p>The report</p></body></html>",
        b"%PDF-1.4 test",
        generated_by="tests",
        actor=by or accounts.system_user(),
    )


def a_report(users, owner, unit) -> int:
    """A clean report awaiting QA's approval (a route × role row's placeholder)."""
    return keep_report().id
