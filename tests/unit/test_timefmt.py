"""How much time is left, as the unit pages and the readiness board say it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lims.timefmt import time_left

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (timedelta(minutes=30), "0 h 30 min left"),
        (timedelta(hours=5, minutes=7), "5 h 07 min left"),
        (timedelta(days=1, hours=2), "1 d 2 h left"),
        (timedelta(days=59, hours=23), "59 d 23 h left"),
        (timedelta(days=60), "about 2 months left"),
        (timedelta(days=400), "about 13 months left"),
        (timedelta(days=729), "about 24 months left"),
        (timedelta(days=730), "about 2 years left"),
        (timedelta(days=1824, hours=23), "about 5 years left"),
        (timedelta(0), "expired"),
        (-timedelta(hours=1), "expired"),
    ],
)
def test_time_left_reads_in_the_unit_that_matters(left, words):
    assert time_left(NOW + left, NOW) == words


def test_no_expiry_is_a_dash():
    assert time_left(None, NOW) == "—"
