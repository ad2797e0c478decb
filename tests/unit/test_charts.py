"""The chart builders: plain data in, self-contained SVG out — every series, the axis titles,
the legend, the limit line that steps, a "no data" chart, and nothing from the network."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lims.charts import (
    NO_DATA,
    LimitStep,
    QcPoint,
    StageBand,
    WeekCount,
    qc_chart,
    turnaround_chart,
    weekly_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
D = timedelta(days=1)
BERLIN = ZoneInfo("Europe/Berlin")
STAGES = [("transit", "Collection → receipt"), ("processing", "Processing")]
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def turnaround(bands=None):
    bands = (
        [
            StageBand("SVF", "transit", "Collection → receipt", 5, 3.0, 1.0, 6.0),
            StageBand("SVF", "processing", "Processing", 5, 2.0, 1.5, 3.0),
            StageBand("PRP", "transit", "Collection → receipt", 2, 1.0, 0.5, 1.5),
        ]
        if bands is None
        else bands
    )
    return turnaround_chart(bands, STAGES, ["SVF", "BM-MNC", "PRP"])


def qc(points=None, limits=None):
    points = (
        [QcPoint("SVF", NOW - n * D, 70.0 + n, out_of_spec=False) for n in range(1, 6)]
        + [QcPoint("SVF", NOW - 8 * D, 61.5, out_of_spec=True)]
        if points is None
        else points
    )
    limits = (
        [
            LimitStep("SVF", NOW - 28 * D, NOW - 7 * D, 70, "≥ 70 %", 1),
            LimitStep("SVF", NOW - 7 * D, NOW, 75, "≥ 75 %", 2),
        ]
        if limits is None
        else limits
    )
    return qc_chart(
        points, limits, test_name="Viability", unit="%", product_types=["SVF"], zone=BERLIN
    )


def weekly(weeks=None):
    weeks = (
        [
            WeekCount("2026-W47", NOW - 7 * D, {"ADIPOSE": 3, "SVF": 2}),
            WeekCount("2026-W48", NOW, {"ADIPOSE": 1}),
        ]
        if weeks is None
        else weeks
    )
    return weekly_chart(weeks, ["ADIPOSE", "SVF", "PRP"])


BUILT = {
    "turnaround": turnaround,
    "qc": qc,
    "weekly": weekly,
    "turnaround empty": lambda: turnaround([]),
    "qc empty": lambda: qc([], []),
    "weekly empty": lambda: weekly([WeekCount("2026-W48", NOW, {})]),
}


def tree(chart) -> ET.Element:
    return ET.fromstring(chart.svg)


def texts(chart, css_class: str) -> list[str]:
    return [
        "".join(node.itertext())
        for node in tree(chart).iter()
        if css_class in (node.get("class") or "").split()
    ]


def legend(chart) -> list[str]:
    node = next(n for n in tree(chart).iter() if n.get("class") == "legends")
    return [t.text for t in node.iter(f"{SVG}text")]


def series_values(chart, index: int) -> list[str]:
    """The values a series drew (pygal writes each beside its bar or dot)."""
    return [
        d.text
        for group in tree(chart).iter()
        if f"serie-{index}" in (group.get("class") or "").split()
        for d in group.iter(f"{SVG}desc")
        if d.get("class") == "value"
    ]


@pytest.mark.parametrize("name", BUILT)
def test_no_chart_refers_to_anything_outside_itself(name):
    svg = BUILT[name]().svg

    addresses = set(re.findall(r"https?://[^\s\"'<>)]*", svg))

    assert addresses <= NAMESPACES, addresses - NAMESPACES
    assert "<script" not in svg and "xml-stylesheet" not in svg and "@import" not in svg


@pytest.mark.parametrize("name", BUILT)
def test_no_chart_carries_a_style_attribute_a_page_policy_would_block(name):
    svg = BUILT[name]().svg

    assert [n.get("style") for n in tree(BUILT[name]()).iter() if n.get("style")] == []
    assert svg.count("<style") == 1  # its look, allowed by the page's nonce


@pytest.mark.parametrize("name", BUILT)
def test_every_chart_scales_to_its_container_and_is_named(name):
    chart = BUILT[name]()
    root = tree(chart)

    assert root.get("viewBox") and root.get("width") is None and root.get("height") is None
    assert root.get("role") == "img" and chart.title in root.get("aria-label")


@pytest.mark.parametrize("name", ["turnaround empty", "qc empty", "weekly empty"])
def test_no_data_says_so(name):
    chart = BUILT[name]()

    assert chart.empty
    assert NO_DATA in texts(chart, "no_data")


def test_turnaround_has_a_series_per_type_with_n_on_each_bar():
    chart = turnaround()

    assert not chart.empty
    assert legend(chart) == ["SVF", "PRP"]  # BM-MNC has no history: no empty series
    assert texts(chart, "title")[1:] == ["Stage", "Duration (hours)"]
    assert series_values(chart, 0) == ["3.0 h", "2.0 h"]
    printed = [t.text for t in tree(chart).iter(f"{SVG}text") if t.get("class") == "label"]
    assert sorted(printed) == ["n=2", "n=5", "n=5"]
    assert len([n for n in tree(chart).iter() if n.get("class") == "ci"]) == 3  # whiskers


def test_qc_points_out_of_spec_apart_and_the_limit_steps():
    chart = qc()

    assert legend(chart) == [
        "SVF results",
        "Out of specification",
        "SVF specification limit (≥ 70 % then ≥ 75 %)",
    ]
    assert texts(chart, "title")[1:] == ["Recorded (CET)", "Viability (%)"]
    assert len(series_values(chart, 0)) == 5
    assert series_values(chart, 1) == ["2026-11-18: 61.5"]
    limit = next(n for n in tree(chart).iter() if "serie-2" in (n.get("class") or "").split())
    numbers = [float(v) for v in re.findall(r"[\d.]+", limit.find(f"{SVG}path").get("d"))]
    points = list(zip(numbers[::2], numbers[1::2], strict=True))
    assert len(points) == 4
    (x0, y70), (x1, y70b), (x2, y75), (x3, y75b) = points
    assert y70 == y70b and y75 == y75b and y75 < y70  # 75 % drawn above 70 %
    assert x0 < x1 == x2 < x3  # the step is vertical, where version 2 came in


def test_qc_times_are_drawn_in_the_site_zone():
    late = QcPoint("SVF", datetime(2026, 11, 24, 23, 30, tzinfo=UTC), 80, out_of_spec=False)

    chart = qc([late], [])

    assert series_values(chart, 0) == ["2026-11-25: 80"]  # 00:30 in Berlin


def test_cell_counts_read_as_the_lab_writes_them():
    point = QcPoint("SVF", NOW - D, 2_500_000, out_of_spec=False)

    chart = qc_chart(
        [point], [], test_name="Viable cell count", unit="cells", product_types=["SVF"], zone=BERLIN
    )

    assert series_values(chart, 0) == ["2026-11-25: 2.5×10⁶"]
    assert "Viable cell count (cells)" in texts(chart, "title")


def test_weekly_bars_stack_the_types_that_have_units():
    chart = weekly()

    assert legend(chart) == ["ADIPOSE", "SVF"]
    assert texts(chart, "title")[1:] == ["ISO week (collection date, site time zone)", "Units"]
    assert series_values(chart, 0) == ["3", "1"]
    assert series_values(chart, 1) == ["2", "0"]
