"""The release estimate's arithmetic (``domain.readiness``): the stage a unit is in counts what
is left of it, never below zero, and every later stage counts whole; the band adds up the
same way; the fewest examples behind any stage used is the estimate's ``n``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lims.domain.readiness import estimate, estimate_from, outlook
from lims.domain.turnaround import StageSummary

H = timedelta(hours=1)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HISTORY = {
    "transit": StageSummary(9, 2 * H, 1 * H, 4 * H),
    "waiting": StageSummary(7, 1 * H, H / 2, 3 * H),
    "processing": StageSummary(12, 3 * H, 2 * H, 5 * H),
    "qc_release": StageSummary(6, 6 * H, 4 * H, 9 * H),
}


def test_what_is_left_of_the_stage_and_the_later_stages_whole():
    est = estimate("SVF", "waiting", NOW - H / 2, NOW, HISTORY)
    assert est.at == NOW + H / 2 + 3 * H + 6 * H
    assert est.low == NOW + 0 * H + 2 * H + 4 * H  # half an hour spent of a half-hour low
    assert est.high == NOW + (3 * H - H / 2) + 5 * H + 9 * H
    assert (est.n, est.late, est.product_type) == (6, False, "SVF")


def test_longer_in_the_stage_than_its_90th_percentile_is_late_and_counts_none_of_it():
    est = estimate("SVF", "qc_release", NOW - 10 * H, NOW, HISTORY)
    assert est.at == est.low == est.high == NOW
    assert est.late and est.n == 6


def test_a_stage_without_history_leaves_no_estimate_and_names_it():
    est = estimate("SVF", "transit", None, NOW, {**HISTORY, "processing": None})
    assert not est.available and est.missing == ("processing",)
    # the stages before the unit's own do not count
    assert estimate("SVF", "qc_release", None, NOW, {**HISTORY, "processing": None}).available


def test_one_outlook_serves_every_unit_of_its_stage():
    seen = outlook("MSC", "processing", HISTORY)
    for spent in (0 * H, H, 4 * H, 6 * H):
        started = NOW - spent
        assert estimate_from(seen, started, NOW) == estimate(
            "MSC", "processing", started, NOW, HISTORY
        )
    assert estimate_from(seen, None, NOW).at == NOW + 3 * H + 6 * H  # no start: nothing spent
