"""Charts drawn from plain data as SVG text, with pygal and nothing from the network.

The builders know nothing of the database or Flask: ``lims.services.stats`` reads the
numbers, these turn them into an SVG string the page embeds inline, beside a data table.
"""

from __future__ import annotations

from .builders import qc_chart, turnaround_chart, weekly_chart
from .data import Chart, LimitStep, QcPoint, StageBand, WeekCount
from .render import NO_DATA

__all__ = [
    "NO_DATA",
    "Chart",
    "LimitStep",
    "QcPoint",
    "StageBand",
    "WeekCount",
    "qc_chart",
    "turnaround_chart",
    "weekly_chart",
]
