"""The plain data the chart builders draw: what ``lims.services.stats`` reads from the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StageBand:
    """One stage of one product type: the median and the 10th–90th percentile band, in hours."""

    product_type: str
    stage: str  # the stage's key (``lims.domain.turnaround.STAGES``)
    label: str
    n: int
    median_h: float
    low_h: float
    high_h: float


@dataclass(frozen=True)
class QcPoint:
    """One current (not superseded) numeric QC result."""

    product_type: str
    recorded_at: datetime  # UTC, aware
    value: float
    out_of_spec: bool
    unit_label: str = ""
    spec_text: str = ""  # the spec the result was judged against when it was recorded
    spec_version: int = 0
    result_id: int = 0
    unit_id: int = 0


@dataclass(frozen=True)
class LimitStep:
    """A specification limit in force for one product type from ``since`` until ``until``."""

    product_type: str
    since: datetime  # UTC, aware; the start of the period for a version older than it
    until: datetime
    limit: float
    text: str  # "≥ 70 %"
    version: int


@dataclass(frozen=True)
class WeekCount:
    """Units collected in one ISO week (site zone), by type."""

    week: str  # "2026-W48"
    starts: datetime  # the Monday 00:00 in the site zone, aware
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the SVG to embed, and whether it had anything to draw."""

    title: str
    svg: str
    empty: bool
