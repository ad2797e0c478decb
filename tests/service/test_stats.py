"""The numbers behind the audit charts, from rows with known times: medians and bands,
current QC results and the limits in force, units per ISO week in the site's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lims.domain.errors import Invalid
from lims.domain.turnaround import summarise
from lims.extensions import db
from lims.services.audit import stats
from lims.services.clinic import turnaround

from .stats_rows import a_product, a_result, a_spec_version, a_unit

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday, ISO week 48
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
D = timedelta(days=1)
SINCE = NOW - 28 * D


def bands_by_key(**kw):
    found = stats.turnaround(["SVF", "BM-MNC", "PRP"], since=SINCE, until=NOW, **kw)
    return {(b.product_type, b.stage): b for b in found}


# ---------------------------------------------------------------------------- turnaround


def test_median_and_10th_to_90th_percentile_of_known_durations(app):
    for hours in range(1, 12):  # processing took 1 h … 11 h
        a_product("SVF", NOW - 10 * D, {"processing": hours})
    db.session.commit()

    band = bands_by_key()[("SVF", "processing")]

    assert band.n == 11
    assert (band.median_h, band.low_h, band.high_h) == pytest.approx((6, 2, 10), abs=1e-3)


def test_each_product_type_is_its_own_series(app):
    a_product("SVF", NOW - 3 * D, {"transit": 2})
    a_product("PRP", NOW - 3 * D, {"transit": 0.5})
    a_product("PRP", NOW - 3 * D, {"transit": 1.5})
    db.session.commit()

    bands = bands_by_key()

    assert bands[("SVF", "transit")].median_h == pytest.approx(2, abs=1e-3)
    assert (bands[("PRP", "transit")].n, bands[("PRP", "transit")].median_h) == (
        2,
        pytest.approx(1, abs=1e-3),
    )
    assert not any(t == "BM-MNC" for t, _ in bands)


def test_aliquots_earlier_collections_and_cultured_products_do_not_count(app):
    parent = a_product("SVF", NOW - 3 * D, {"processing": 2})
    a_product("SVF", NOW - 3 * D, {"processing": 50}, division="A0")  # an aliquot
    a_product("SVF", NOW - 40 * D, {"processing": 50})  # collected before the period
    # Made 20 h ago, then put into culture an hour ago: its processing times are the culture's.
    a_unit(
        "SVF",
        NOW - 2 * D,
        received_at=NOW - D,
        processing_started_at=NOW - H,
        created_at=NOW - 20 * H,
    )
    db.session.commit()

    bands = bands_by_key()

    assert parent.division == "00"
    assert (bands[("SVF", "processing")].n, bands[("SVF", "processing")].median_h) == (
        1,
        pytest.approx(2, abs=1e-3),
    )
    assert bands[("SVF", "waiting")].n == 1


def test_the_database_ranks_the_same_answer_as_the_plain_summary(app):
    for hours in (0.3, 1.7, 2.2, 5, 8.25, 13, 40, 41.5):
        a_product("SVF", NOW - 5 * D, {"qc_release": hours, "waiting": hours / 3})
    db.session.commit()

    in_python = {key: summarise(d) for key, d in turnaround.stage_durations("SVF").items()}
    in_sql = turnaround.stage_summaries("SVF")

    assert in_python.keys() == in_sql.keys()
    for key, expected in in_python.items():
        got = in_sql[key]
        assert got.n == expected.n, key
        for name in ("median", "low", "high"):
            difference = getattr(got, name) - getattr(expected, name)
            assert abs(difference.total_seconds()) < 0.01, (key, name)


def test_no_history_is_no_band(app):
    assert stats.turnaround(["SVF"], since=SINCE, until=NOW) == []
    assert set(turnaround.stage_summaries("SVF").values()) == {None}


# ---------------------------------------------------------------------------- QC over time


def test_current_results_only_and_out_of_spec_marked(app, users):
    tech = users["technician"]
    low = a_unit("SVF", NOW - 5 * D)
    a_result(low, 65, NOW - 3 * D, tech)  # out of specification
    retested = a_unit("SVF", NOW - 5 * D)
    a_result(retested, 80, NOW - 2 * D, tech)  # superseded by the re-test
    a_result(retested, 85, NOW - D, tech)
    corrected = a_unit("SVF", NOW - 5 * D)
    typo = a_result(corrected, 50, NOW - 2 * D, tech)
    aliquot = a_unit("SVF", NOW - 5 * D, division="A0")
    a_result(aliquot, 90, NOW - D, tech, corrects=typo)  # the correction names the typo
    a_result(a_unit("SVF", NOW - 50 * D), 99, NOW - 40 * D, tech)  # before the period
    a_result(a_unit("BM-MNC", NOW - 5 * D), 72, NOW - D, tech)
    a_result(low, 2.0e6, NOW - D, tech, test="viable_cell_count", limit=1e6)  # another test
    db.session.commit()

    got = stats.qc_over_time(["SVF", "BM-MNC"], "viability", since=SINCE, until=NOW)

    by_type = {
        t: sorted(p.value for p in got.points if p.product_type == t) for t in ("SVF", "BM-MNC")
    }
    assert by_type == {"SVF": [65, 85, 90], "BM-MNC": [72]}
    assert [(p.value, p.spec_text) for p in got.out_of_spec] == [(65, "≥ 70 %")]
    summary = {s.product_type: (s.n, s.out_of_spec, s.lowest, s.highest) for s in got.summaries}
    assert summary == {"SVF": (3, 1, 65, 90), "BM-MNC": (1, 0, 72, 72)}
    assert not got.capped


def test_limits_step_where_a_new_version_came_into_force(app, users):
    a_spec_version("SVF", "viability", 75, 2, NOW - 7 * D, users["admin"])
    db.session.commit()

    steps = stats.spec_steps("SVF", "viability", SINCE, NOW)

    assert [(s.since, s.until, s.limit, s.version, s.text) for s in steps] == [
        (SINCE, NOW - 7 * D, 70, 1, "≥ 70 %"),
        (NOW - 7 * D, NOW, 75, 2, "≥ 75 %"),
    ]


def test_a_version_older_than_the_period_starts_at_its_start(app, users):
    a_spec_version("SVF", "viability", 75, 2, NOW - 60 * D, users["admin"])
    a_spec_version("SVF", "viability", 80, 3, NOW - 7 * D, users["admin"])
    a_result(a_unit("SVF", NOW - 5 * D), 77, NOW - 10 * D, users["technician"], limit=75)
    db.session.commit()

    got = stats.qc_over_time(["SVF"], "viability", since=SINCE, until=NOW)

    assert [(s.since, s.until, s.limit) for s in got.limits] == [
        (SINCE, NOW - 7 * D, 75),
        (NOW - 7 * D, NOW, 80),
    ]


def test_a_test_not_specified_for_the_type_draws_nothing(app, users):
    got = stats.qc_over_time(["PRP"], "viability", since=SINCE, until=NOW)

    assert (got.product_types, got.points, got.limits) == ((), [], [])


def test_the_newest_points_are_drawn_when_there_are_too_many(app, users, monkeypatch):
    monkeypatch.setattr(stats, "MAX_POINTS", 3)
    unit = a_unit("SVF", NOW - 5 * D)
    for day in range(1, 6):
        a_result(a_unit("SVF", NOW - 5 * D), 70 + day, NOW - day * D, users["technician"])
    db.session.commit()

    got = stats.qc_over_time(["SVF"], "viability", since=SINCE, until=NOW)

    assert unit.id
    assert [p.value for p in got.points] == [71, 72, 73]
    assert (got.total, got.capped) == (5, True)


# ---------------------------------------------------------------------------- units per week


def test_the_period_is_whole_iso_weeks_in_the_site_zone():
    span = stats.period(4, now=NOW, zone=BERLIN)

    assert [w.week for w in span.weeks] == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert span.start == datetime(2026, 11, 1, 23, tzinfo=UTC)  # Monday 00:00 CET
    assert span.end == NOW


def test_units_per_week_counted_in_the_site_zone_across_the_clock_change(app):
    # Berlin left summer time on Sunday 25 October 2026: week 44 began at 23:00 UTC.
    a_unit("ADIPOSE", datetime(2026, 10, 25, 22, 30, tzinfo=UTC))  # Sun 23:30 CET: W43
    a_unit("ADIPOSE", datetime(2026, 10, 25, 23, 30, tzinfo=UTC))  # Mon 00:30 CET: W44
    a_unit("SVF", datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    a_unit("SVF", datetime(2026, 10, 25, 23, 30, tzinfo=UTC), division="A0")  # an aliquot
    a_unit("BLOOD", datetime(2026, 11, 22, 23, 30, tzinfo=UTC))  # Mon 00:30 CET: W48
    a_unit("BLOOD", datetime(2026, 10, 18, 21, 0, tzinfo=UTC))  # Sun 23:00 CEST: W42, before
    db.session.commit()

    weeks = stats.units_per_week(stats.period(6, now=NOW, zone=BERLIN))

    assert {w.week: w.counts for w in weeks} == {
        "2026-W43": {"ADIPOSE": 1},
        "2026-W44": {"ADIPOSE": 1, "SVF": 1},
        "2026-W45": {},
        "2026-W46": {},
        "2026-W47": {},
        "2026-W48": {"BLOOD": 1},
    }


def test_units_per_week_of_chosen_types_only(app):
    a_unit("ADIPOSE", NOW - D)
    a_unit("SVF", NOW - D)
    db.session.commit()

    weeks = stats.units_per_week(stats.period(1, now=NOW, zone=BERLIN), ["SVF"])

    assert [w.counts for w in weeks] == [{"SVF": 1}]


# ---------------------------------------------------------------------------- filters


def test_filters_default_to_all_products_viability_twelve_weeks():
    assert stats.parse_filters({}) == stats.Filters(None, "viability", 12)
    assert stats.parse_filters({"type": "PRP", "test": "platelet_count", "weeks": "52"}) == (
        stats.Filters("PRP", "platelet_count", 52)
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"type": "ADIPOSE"}, "type"),  # a source, not a product
        ({"type": "XYZ"}, "type"),
        ({"test": "gram_stain"}, "test"),  # words, nothing to plot
        ({"test": "<script>"}, "test"),
        ({"weeks": "0"}, "weeks"),
        ({"weeks": "105"}, "weeks"),
        ({"weeks": "-3"}, "weeks"),
        ({"weeks": "2.5"}, "weeks"),
        ({"weeks": "abc"}, "weeks"),
        ({"weeks": "9" * 40}, "weeks"),
        ({"weeks": "١٢"}, "weeks"),  # Arabic-Indic digits are digits to Python, not to us
    ],
)
def test_unreadable_filters_are_refused_by_field(args, field):
    with pytest.raises(Invalid) as refused:
        stats.parse_filters(args)

    assert set(refused.value.fields) == {field}
