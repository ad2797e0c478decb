"""The label benchmark runs and measures every template in every format."""

from __future__ import annotations

from bench.labels import run


def test_the_label_bench_measures_every_template_and_format(app):
    results = run(seconds=0.01)

    measured = {(r["template"], r["format"]) for r in results["rates"]}
    assert len(measured) == 12
    assert all(r["per_second"] > 0 for r in results["rates"])
    assert results["sheet_100_tube_pdf_s"] > 0
