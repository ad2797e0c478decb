"""The ledger search benchmark runs end to end on a tiny seeded ledger (the figures in
docs/performance.md come from the same code on 1 000 000 entries on PostgreSQL)."""

from __future__ import annotations

import pytest

from bench.ledger_search import run
from bench.seed import seed
from lims.extensions import db


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_ledger_search_benchmark_runs(database_url, app):
    seed(40, days=60)
    db.session.remove()
    results = run(database_url, repeat=2, moves=2)  # its own app, same database
    measures = results["measures"]
    assert measures["no filter, first page"]["rows"] == 50
    assert (
        measures["unit (one unit, long history), first page"]["rows"] == 11
    )  # made, 5 QC results, released, its certificate issued, stored, moved twice
    assert measures["report: screen rows (build)"]["rows"] == measures[
        "unit (one unit, long history), first page"
    ]["rows"] + len_of_source(results)
    assert measures["report: PDF"]["rows"] > 1000  # bytes of a PDF


def len_of_source(results) -> int:
    """The source's entries, which the report shows before the product's own."""
    return results["source_entries"]
