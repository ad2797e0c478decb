"""The three audit charts: turnaround per stage, QC results over time with the spec limits,
units per week by type. Each takes plain data (``data.py``) and returns a :class:`Chart`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pygal

from ..domain.qc import number_text
from .data import Chart, LimitStep, QcPoint, StageBand, WeekCount
from .render import LIMIT, NO_DATA, OUT_OF_SPEC, PALETTE, new, render


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _hours(value: float) -> str:
    return f"{value:.1f} h"


def turnaround_chart(
    bands: Sequence[StageBand], stages: Sequence[tuple[str, str]], product_types: Sequence[str]
) -> Chart:
    """Bars at each stage's median, whiskers from the 10th to the 90th percentile, n on each bar.

    ``stages``: (key, label) in order, the x axis; ``product_types``: one series each.
    """
    title = "Turnaround per stage (median, 10th–90th percentile)"
    by = {(b.product_type, b.stage): b for b in bands}
    shown = [t for t in product_types if any((t, key) in by for key, _ in stages)]
    chart = new(
        pygal.Bar,
        title,
        "Stage",
        "Duration (hours)",
        colors=[_colour(i) for i, _ in enumerate(shown)],
        print_labels=True,
        print_values=False,
        print_values_position="bottom",
        value_formatter=_hours,
        range=(0, max([b.high_h for b in bands] + [1.0]) * 1.05),
        legend_at_bottom_columns=5,
    )
    chart.x_labels = [label for _, label in stages]
    for product_type in shown:
        values = []
        for key, _ in stages:
            band = by.get((product_type, key))
            values.append(
                None
                if band is None
                else {
                    "value": round(band.median_h, 2),
                    "ci": {"low": round(band.low_h, 2), "high": round(band.high_h, 2)},
                    "label": f"n={band.n}",
                }
            )
        chart.add(product_type, values)
    label = title if shown else f"{title}: {NO_DATA.lower()}"
    return Chart(title, render(chart, label), empty=not shown)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Wall-clock time in the site's zone, naive: pygal reads naive times as they are."""
    return moment.astimezone(zone).replace(tzinfo=None)


def qc_chart(
    points: Sequence[QcPoint],
    limits: Sequence[LimitStep],
    *,
    test_name: str,
    unit: str,
    product_types: Sequence[str],
    zone: ZoneInfo,
) -> Chart:
    """Each current result a point (out-of-specification ones in red, larger), each product
    type's specification limit a line that steps where a new version came into force."""
    title = f"{test_name} over time, with the specification limit"
    y_title = f"{test_name} ({unit})" if unit else test_name
    zone_name = datetime.now(zone).tzname() or str(zone)
    shown = [t for t in product_types if any(p.product_type == t for p in points)]
    series: list[tuple[str, list, dict, str]] = []
    for index, product_type in enumerate(shown):
        values = [
            (_local(p.recorded_at, zone), p.value)
            for p in points
            if p.product_type == product_type and not p.out_of_spec
        ]
        series.append(
            (f"{product_type} results", values, {"stroke": False, "dots_size": 4}, _colour(index))
        )
    failed = [(_local(p.recorded_at, zone), p.value) for p in points if p.out_of_spec]
    if failed:
        series.append(
            ("Out of specification", failed, {"stroke": False, "dots_size": 7}, OUT_OF_SPEC)
        )
    if points:
        for index, product_type in enumerate(shown):
            steps = [s for s in limits if s.product_type == product_type]
            line: list = []
            for step in steps:
                line += [
                    (_local(step.since, zone), step.limit),
                    (_local(step.until, zone), step.limit),
                ]
            if line:
                texts = " then ".join(dict.fromkeys(s.text for s in steps))
                series.append(
                    (
                        f"{product_type} specification limit ({texts})",
                        line,
                        {
                            "show_dots": False,
                            "stroke_style": {"width": 3, "dasharray": "8, 4"},
                        },
                        LIMIT if len(shown) == 1 else _colour(index),
                    )
                )
    chart = new(
        pygal.DateTimeLine,
        title,
        f"Recorded ({zone_name})",
        y_title,
        colors=[colour for *_, colour in series],
        x_value_formatter=lambda moment: moment.strftime("%Y-%m-%d"),
        value_formatter=lambda value: number_text(value),
        x_label_rotation=20,
        legend_at_bottom_columns=2,
    )
    if points:
        for name, values, options, _ in series:
            chart.add(name, values, **options)
    label = title if points else f"{title}: {NO_DATA.lower()}"
    return Chart(title, render(chart, label), empty=not points)


def weekly_chart(weeks: Sequence[WeekCount], unit_types: Sequence[str]) -> Chart:
    """Stacked bars: units collected per ISO week (site zone), one colour per type."""
    title = "Units per week by type"
    shown = [t for t in unit_types if any(w.counts.get(t) for w in weeks)]
    chart = new(
        pygal.StackedBar,
        title,
        "ISO week (collection date, site time zone)",
        "Units",
        colors=[_colour(i) for i, _ in enumerate(shown)],
        x_label_rotation=-45 if len(weeks) > 12 else 0,
        show_minor_x_labels=len(weeks) <= 26,
        x_labels_major_every=max(1, len(weeks) // 13) if len(weeks) > 26 else None,
        value_formatter=lambda value: f"{value:g}",
        legend_at_bottom_columns=5,
    )
    chart.x_labels = [w.week for w in weeks]
    for unit_type in shown:
        chart.add(unit_type, [w.counts.get(unit_type, 0) for w in weeks])
    label = title if shown else f"{title}: {NO_DATA.lower()}"
    return Chart(title, render(chart, label), empty=not shown)


__all__ = ["qc_chart", "turnaround_chart", "weekly_chart"]
