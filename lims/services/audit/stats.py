"""The numbers behind the audit charts, aggregated in the database.

- Turnaround per stage per product type: the median and the 10th–90th percentile band of
  each stage, from ``services.turnaround`` (ranked in SQL), the readiness board's figures.
- QC results over time: each current (not superseded, not corrected) numeric result of one
  test, and the specification limit in force at each moment as steps between versions.
- Units per ISO week (site zone) by type, counted by the database in week buckets whose
  boundaries are the site's Monday midnights (daylight saving included).

Read-only: nothing here changes state.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import aliased

from ...charts.data import LimitStep, QcPoint, StageBand, WeekCount
from ...domain import qc
from ...domain.catalogue import CATALOGUE, PRODUCT_TYPES
from ...domain.errors import Invalid
from ...domain.turnaround import STAGES
from ...extensions import db
from ...models import QcResult, Unit
from ..actions import qc as qc_service
from ..clinic.turnaround import stage_quantiles

UNIT_TYPES = tuple(CATALOGUE)
NUMERIC_TESTS = tuple(key for key, test in qc.TESTS.items() if test.is_numeric)
DEFAULT_TEST = "viability"
DEFAULT_WEEKS = 12
MAX_WEEKS = 104
# A scatter of more points than this says nothing more and makes the page heavy: the
# newest are drawn and the page says how many there were.
MAX_POINTS = 2000


# ---------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    product_type: str | None  # None: every product type
    test: str
    weeks: int

    @property
    def product_types(self) -> tuple[str, ...]:
        return (self.product_type,) if self.product_type else PRODUCT_TYPES

    def as_args(self) -> dict[str, str]:
        return {"type": self.product_type or "", "test": self.test, "weeks": str(self.weeks)}


def parse_filters(args: Mapping[str, str]) -> Filters:
    """The page's query string: ``type`` (empty: all products), ``test`` (a numeric QC
    test), ``weeks`` (1–104). Anything else is refused with a message per field."""
    errors: dict[str, str] = {}
    product_type = (args.get("type") or "").strip() or None
    if product_type is not None and product_type not in PRODUCT_TYPES:
        errors["type"] = f"choose a product type: {', '.join(PRODUCT_TYPES)} (or all)"
    test = (args.get("test") or "").strip() or DEFAULT_TEST
    if test not in NUMERIC_TESTS:
        errors["test"] = "choose a measured QC test: " + ", ".join(
            qc.TESTS[t].name.lower() for t in NUMERIC_TESTS
        )
    raw_weeks = (args.get("weeks") or "").strip() or str(DEFAULT_WEEKS)
    weeks = int(raw_weeks) if raw_weeks.isascii() and raw_weeks.isdigit() else 0
    if len(raw_weeks) > 3 or not 1 <= weeks <= MAX_WEEKS:
        errors["weeks"] = f"the period is a whole number of weeks, 1 to {MAX_WEEKS}"
    if errors:
        raise Invalid(
            "the charts cannot be drawn for these filters: " + "; ".join(errors.values()),
            code="invalid_fields",
            fields=errors,
        )
    return Filters(product_type, test, weeks)


# ---------------------------------------------------------------------------- period


@dataclass(frozen=True)
class Period:
    """The last ``weeks`` ISO weeks in the site's zone, the current one included, to now."""

    weeks: tuple[WeekCount, ...]  # the week starts (Monday 00:00 local), no counts
    start: datetime  # UTC
    end: datetime  # UTC: now
    zone: ZoneInfo


def iso_week(day) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def period(weeks: int, *, now: datetime, zone: ZoneInfo) -> Period:
    today = now.astimezone(zone).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    starts = []
    for index in range(weeks):
        day = first + timedelta(weeks=index)
        starts.append(WeekCount(iso_week(day), datetime.combine(day, time(0), tzinfo=zone)))
    return Period(tuple(starts), starts[0].starts.astimezone(UTC), now.astimezone(UTC), zone)


# ---------------------------------------------------------------------------- turnaround


def turnaround(
    product_types: Sequence[str], *, since: datetime | None, until: datetime | None = None
) -> list[StageBand]:
    """Every stage of every product type with history (collected within the period), in hours."""
    bands = []
    for stage in STAGES:
        found = stage_quantiles(stage, product_types, since, until)
        for product_type in product_types:
            if product_type in found:
                n, low, median, high = found[product_type]
                bands.append(
                    StageBand(
                        product_type,
                        stage.key,
                        stage.label,
                        n,
                        median / 3600,
                        low / 3600,
                        high / 3600,
                    )
                )
    return bands


# ---------------------------------------------------------------------------- QC over time


@dataclass(frozen=True)
class QcSummary:
    product_type: str
    n: int
    out_of_spec: int
    lowest: float
    highest: float


@dataclass(frozen=True)
class QcOverTime:
    test: qc.QcTest
    product_types: tuple[str, ...]  # the selected types the test is specified for
    points: list[QcPoint]  # newest first, at most MAX_POINTS
    summaries: list[QcSummary]
    limits: list[LimitStep]

    @property
    def total(self) -> int:
        return sum(s.n for s in self.summaries)

    @property
    def capped(self) -> bool:
        return self.total > len(self.points)

    @property
    def out_of_spec(self) -> list[QcPoint]:
        return [p for p in self.points if p.out_of_spec]


def _current_results(test: str, product_types: Sequence[str], since: datetime, until: datetime):
    """Conditions for the current numeric results of ``test`` recorded in the period: a
    result is superseded by a later result of the same test on the same unit, or by a
    correction naming it (decision 24)."""
    later = aliased(QcResult)
    correction = aliased(QcResult)
    return and_(
        QcResult.test == test,
        QcResult.value_number.is_not(None),
        QcResult.recorded_at >= since,
        QcResult.recorded_at <= until,
        Unit.unit_type.in_(product_types),
        ~exists().where(
            later.unit_id == QcResult.unit_id, later.test == QcResult.test, later.id > QcResult.id
        ),
        # No index on corrects_id: one set of corrected ids, not a scan per result.
        QcResult.id.not_in(
            select(correction.corrects_id).where(correction.corrects_id.is_not(None))
        ),
    )


def spec_steps(product_type: str, test: str, since: datetime, until: datetime) -> list[LimitStep]:
    """The limit of each specification version, over the part of the period it was in force
    (version 1 is built in and in force from the start; a published version from its
    publication until the next)."""
    history = [
        (spec, row.created_at if row is not None else None)
        for spec, row in qc_service.spec_history(product_type, test)
        if spec.limit is not None
    ]
    steps = []
    for index, (spec, published) in enumerate(history):
        begins = max(published or since, since)
        following = history[index + 1][1] if index + 1 < len(history) else None
        ends = min(following or until, until)
        if begins < ends:
            steps.append(LimitStep(product_type, begins, ends, spec.limit, spec.text, spec.version))
    return steps


def qc_over_time(
    product_types: Sequence[str], test: str, *, since: datetime, until: datetime
) -> QcOverTime:
    specified = tuple(t for t in product_types if qc_service.spec_in_force(t, test) is not None)
    found = QcOverTime(qc.TESTS[test], specified, [], [], [])
    if not specified:
        return found
    where = _current_results(test, specified, since, until)
    failed = QcResult.verdict == qc.Verdict.FAIL.value
    for t, n, fails, lowest, highest in db.session.execute(
        select(
            Unit.unit_type,
            func.count(),
            func.sum(case((failed, 1), else_=0)),
            func.min(QcResult.value_number),
            func.max(QcResult.value_number),
        )
        .join(Unit, Unit.id == QcResult.unit_id)
        .where(where)
        .group_by(Unit.unit_type)
    ):
        found.summaries.append(QcSummary(t, int(n), int(fails or 0), lowest, highest))
    found.summaries.sort(key=lambda s: specified.index(s.product_type))
    rows = db.session.execute(
        select(
            QcResult.id,
            QcResult.recorded_at,
            QcResult.value_number,
            QcResult.verdict,
            QcResult.spec_version,
            QcResult.spec,
            Unit.id,
            Unit.unit_type,
            Unit.din,
            Unit.check_character,
            Unit.product_code,
            Unit.division,
        )
        .join(Unit, Unit.id == QcResult.unit_id)
        .where(where)
        .order_by(QcResult.recorded_at.desc(), QcResult.id.desc())
        .limit(MAX_POINTS)
    )
    for row in rows:
        out = row.verdict == qc.Verdict.FAIL.value
        found.points.append(
            QcPoint(
                product_type=row.unit_type,
                recorded_at=row.recorded_at,
                value=row.value_number,
                out_of_spec=out,
                unit_label=f"{row.din}{row.check_character} {row.product_code} {row.division}",
                spec_text=json.loads(row.spec).get("text", "") if out else "",
                spec_version=row.spec_version,
                result_id=row[0],
                unit_id=row[6],
            )
        )
    for product_type in specified:
        found.limits.extend(spec_steps(product_type, test, since, until))
    return found


# ---------------------------------------------------------------------------- units per week


def units_per_week(span: Period, unit_types: Iterable[str] = UNIT_TYPES) -> list[WeekCount]:
    """Units (whole units, division 00: a split makes aliquots, not new work) collected in
    each week of the period, by type; the database counts, bucketed by the week starts."""
    bounds = [w.starts for w in span.weeks]
    whens = [(Unit.collected_at < start, index) for index, start in enumerate(bounds[1:])]
    bucket = case(*whens, else_=len(bounds) - 1) if whens else literal(0)
    inner = (
        select(Unit.unit_type.label("t"), bucket.label("w"))
        .where(
            Unit.collected_at >= span.start,
            Unit.collected_at <= span.end,
            Unit.division == "00",
            Unit.unit_type.in_(list(unit_types)),
        )
        .subquery()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for t, week, n in db.session.execute(
        select(inner.c.t, inner.c.w, func.count()).group_by(inner.c.t, inner.c.w)
    ):
        counts[int(week)][t] = int(n)
    return [
        WeekCount(w.week, w.starts, dict(sorted(counts.get(i, {}).items(), key=_type_order)))
        for i, w in enumerate(span.weeks)
    ]


def _type_order(item: tuple[str, int]) -> int:
    return UNIT_TYPES.index(item[0]) if item[0] in UNIT_TYPES else len(UNIT_TYPES)
