"""The API against its own OpenAPI document, fuzzed by schemathesis on the demo data
(``harness``): every operation, as technician, clinician, QA and admin. No server error, every
answer as documented, no request the document allows refused for its shape (beyond the rules
it names), and the custody ledger still verifies afterwards.

In ``make test``: a short run (a few examples per operation, role and mode). ``make fuzz``
sets ``FUZZ_EXAMPLES`` for the long run and prints the figures."""

from __future__ import annotations

import pytest

from lims.seed import seed_demo

from .harness import fuzz


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """Once, on PostgreSQL: the database the lab runs on (and the stricter one for text)."""
    return request.param


@pytest.mark.postgres_only
def test_the_api_answers_whatever_its_document_allows_as_documented(app, capsys):
    assert seed_demo()
    report = fuzz(app)
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.failures == {}, report.summary()
    assert report.ledger_intact
