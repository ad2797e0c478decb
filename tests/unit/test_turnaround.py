"""Stage statistics: median and the 10th–90th percentile band, honest about few examples."""

from __future__ import annotations

import itertools
from datetime import timedelta

from lims.domain.turnaround import FEW, STAGES, summarise

H = timedelta(hours=1)


def test_no_history_is_no_summary():
    assert summarise([]) is None


def test_one_example_is_its_own_band_and_not_sure():
    summary = summarise([3 * H])
    assert (summary.n, summary.median, summary.low, summary.high) == (1, 3 * H, 3 * H, 3 * H)
    assert not summary.sure


def test_median_and_band_of_ten_hours():
    summary = summarise([n * H for n in range(1, 11)])
    assert summary.n == 10 and summary.sure
    assert summary.median == timedelta(hours=5.5)
    assert H < summary.low < 2 * H
    assert 9 * H < summary.high < 10 * H


def test_negative_durations_are_ignored():
    summary = summarise([-H, 2 * H])
    assert summary.n == 1 and summary.median == 2 * H


def test_few_is_the_threshold_of_sureness():
    assert summarise([H] * FEW).sure
    assert not summarise([H] * (FEW - 1)).sure


def test_stages_chain_end_to_start():
    for before, after in itertools.pairwise(STAGES):
        assert before.ends == after.starts
