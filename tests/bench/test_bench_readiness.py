"""The readiness benchmark runs end to end on a tiny seeded lab (the figures in
docs/performance.md come from the same code on 100 000 and 195 000 units)."""

from __future__ import annotations

import pytest

from bench.readiness import PRODUCT_TYPES, run
from bench.seed import seed
from lims.extensions import db


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_readiness_benchmark_runs(database_url, app):
    seed(40, days=60)
    db.session.remove()
    results = run(database_url, repeat=2)  # its own app, same database
    assert results["units"] >= 40
    assert set(results["history"]) == set(PRODUCT_TYPES)
    assert results["boards"], "the seed has clinicians with patients"
    for figures in results["boards"].values():
        assert figures["patients"] > 0
        assert figures["uncached"]["median_ms"] > 0 and figures["cached"]["median_ms"] > 0
