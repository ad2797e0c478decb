"""The outcomes page's charts (decision 114): change from baseline per patient over the
visits, and a strip chart of the response per group with its median and interquartile range.

Plain data in, SVG out; the numbers themselves are computed by the caller (the same numbers
the page's tables show), never by pygal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygal

from .data import Chart
from .render import LIMIT, NO_DATA, PALETTE, new, render


@dataclass(frozen=True)
class PatientLine:
    name: str
    changes: tuple[float | None, ...]  # one per visit label, None where not assessed


@dataclass(frozen=True)
class GroupStrip:
    label: str
    values: tuple[float, ...]
    median: float
    q1: float
    q3: float


def _number(value: float) -> str:
    return f"{value:+.1f}" if value else "0"


def change_chart(lines: Sequence[PatientLine], visits: Sequence[str], measure: str) -> Chart:
    """A line per patient: the change from baseline at each visit (0 at baseline)."""
    title = f"Change from baseline in {measure}, per patient"
    shown = [line for line in lines if any(v is not None for v in line.changes)]
    chart = new(
        pygal.Line,
        title,
        "Visit",
        f"Change in {measure}",
        colors=[PALETTE[i % len(PALETTE)] for i, _ in enumerate(shown)],
        allow_interruptions=False,
        include_x_axis=True,
        dots_size=4,
        value_formatter=_number,
        legend_at_bottom_columns=3,  # a patient's name and course (30-odd characters) each
        truncate_legend=-1,
    )
    chart.x_labels = list(visits)
    for line in shown:
        chart.add(line.name, list(line.changes))
    label = title if shown else f"{title}: {NO_DATA.lower()}"
    return Chart(title, render(chart, label), empty=not shown)


def strip_chart(groups: Sequence[GroupStrip], title: str, measure: str) -> Chart:
    """Every course a dot in its group's column; a bar across at the median and a line from
    the first to the third quartile. No whiskers beyond: the dots show the rest."""
    shown = [g for g in groups if g.values]
    chart = new(
        pygal.XY,
        title,
        "",
        measure,
        colors=[PALETTE[0], LIMIT, LIMIT],
        allow_interruptions=True,
        value_formatter=_number,
        x_value_formatter=lambda x: _label(shown, x),
        legend_at_bottom_columns=3,
        include_x_axis=True,  # the zero of "no change" always on the chart
        xrange=(-0.6, len(shown) - 0.4) if shown else None,
        show_x_guides=False,
        x_label_rotation=-20 if len(shown) > 3 else 0,
    )
    chart.x_labels = list(range(len(shown)))
    if shown:
        dots, medians, quartiles = [], [], []
        for index, group in enumerate(shown):
            count = len(group.values)
            for rank, value in enumerate(sorted(group.values)):
                offset = 0 if count == 1 else (rank / (count - 1) - 0.5) * 0.3
                dots.append((index + offset, value))
            medians += [(index - 0.3, group.median), (index + 0.3, group.median), None]
            quartiles += [(index + 0.22, group.q1), (index + 0.22, group.q3), None]
        chart.add("Each course", dots, stroke=False, dots_size=4)
        chart.add("Median", medians, show_dots=False, stroke_style={"width": 4})
        chart.add(
            "Interquartile range",
            quartiles,
            show_dots=False,
            stroke_style={"width": 2, "dasharray": "6, 3"},
        )
    label = title if shown else f"{title}: {NO_DATA.lower()}"
    return Chart(title, render(chart, label), empty=not shown)


def _label(groups: Sequence[GroupStrip], x: float) -> str:
    index = round(x)
    if abs(x - index) > 1e-6 or not 0 <= index < len(groups):
        return ""
    return f"{groups[index].label} (n={len(groups[index].values)})"


__all__ = ["GroupStrip", "PatientLine", "change_chart", "strip_chart"]
