"""Stage durations per product type, read from the products the lab has made.

One product row gives the duration of every stage it went through (``domain.turnaround``).
Only whole products count: division "00" (aliquots share their parent's times and would
count the same history twice), and not a product that was later put into culture, whose
processing times were overwritten by the culture's (its MSC product carries those).

The readiness board's estimates and the audit charts both read :func:`stage_quantiles`,
which ranks durations in the database so only the few rows around each percentile leave
it; :func:`stage_durations` is the plain reading that ``domain.turnaround.summarise``
summarises the same way (tests hold the two to one answer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Float, cast, extract, func, or_, select

from ...domain.turnaround import STAGES, Stage, StageSummary
from ...extensions import db
from ...models import Unit
from ...models.types import utcnow

COLUMNS = sorted({c for stage in STAGES for c in (stage.starts, stage.ends)})
PERCENTILES = (1, 5, 9)  # tenths: the 10th percentile, the median, the 90th


def _whole_products(product_types: Sequence[str]) -> list:
    return [
        Unit.unit_type.in_(product_types),
        Unit.division == "00",
        # Made before its processing started again: a culture of this product.
        or_(Unit.processing_started_at.is_(None), Unit.processing_started_at <= Unit.created_at),
    ]


def stage_durations(
    product_type: str, *, since: datetime | None = None
) -> dict[str, list[timedelta]]:
    """Every finished duration of each stage for products of one type (collected since
    ``since``, when given), in stage order."""
    stmt = select(*(getattr(Unit, c) for c in COLUMNS)).where(*_whole_products([product_type]))
    if since is not None:
        stmt = stmt.where(Unit.collected_at >= since)
    found: dict[str, list[timedelta]] = {stage.key: [] for stage in STAGES}
    for row in db.session.execute(stmt):
        times = row._asdict()
        for stage in STAGES:
            start, end = times[stage.starts], times[stage.ends]
            if start is not None and end is not None and end >= start:
                found[stage.key].append(end - start)
    return found


def _seconds(start, end):
    """``end - start`` in seconds, in the database's own arithmetic."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(extract("epoch", end - start), Float)


def _interpolate(ranked: Mapping[int, float], n: int, tenths: int) -> float:
    """The ``tenths``/10 quantile of n sorted values, as ``statistics.quantiles(...,
    method="inclusive")`` and ``statistics.median`` compute it."""
    position = tenths * (n - 1)
    j, delta = divmod(position, 10)
    if delta == 0:
        return ranked[j]
    return (ranked[j] * (10 - delta) + ranked[j + 1] * delta) / 10


def stage_quantiles(
    stage: Stage, product_types: Sequence[str], since: datetime | None, until: datetime | None
) -> dict[str, tuple[int, float, float, float]]:
    """product type -> (n, 10th percentile, median, 90th percentile) in seconds, for the
    products collected between ``since`` and ``until`` (either may be open)."""
    starts, ends = getattr(Unit, stage.starts), getattr(Unit, stage.ends)
    conditions = [
        *_whole_products(product_types),
        starts.is_not(None),
        ends.is_not(None),
        ends >= starts,
    ]
    if since is not None:
        conditions.append(Unit.collected_at >= since)
    if until is not None:
        conditions.append(Unit.collected_at <= until)
    durations = (
        select(Unit.unit_type.label("t"), _seconds(starts, ends).label("s"))
        .where(*conditions)
        .subquery()
    )
    ranked = select(
        durations.c.t,
        durations.c.s,
        (func.row_number().over(partition_by=durations.c.t, order_by=durations.c.s) - 1).label(
            "rk"
        ),
        func.count().over(partition_by=durations.c.t).label("n"),
    ).subquery()
    # Only the order statistics each percentile interpolates between leave the database.
    wanted = or_(
        *(
            ranked.c.rk.between((ranked.c.n - 1) * k // 10, (ranked.c.n - 1) * k // 10 + 1)
            for k in PERCENTILES
        )
    )
    rows: dict[str, dict[int, float]] = defaultdict(dict)
    counts: dict[str, int] = {}
    for t, seconds, rank, n in db.session.execute(
        select(ranked.c.t, ranked.c.s, ranked.c.rk, ranked.c.n).where(wanted)
    ):
        rows[t][int(rank)] = float(seconds)
        counts[t] = int(n)
    return {
        t: (counts[t], *(_interpolate(rows[t], counts[t], k) for k in PERCENTILES)) for t in rows
    }


def recent_summaries(product_type: str) -> dict[str, StageSummary | None]:
    """``stage_summaries`` as the readiness board reads it: at most once every
    ``TURNAROUND_CACHE_SECONDS`` per process and product type. The history of hundreds of
    products moves by one product at a time; ranking it afresh on every 30-second refresh
    of every clinician's board would cost more than it tells."""
    ttl = current_app.config["TURNAROUND_CACHE_SECONDS"]
    if ttl <= 0:
        return stage_summaries(product_type)
    cache = current_app.extensions.setdefault("lims_turnaround", {})
    now = utcnow().timestamp()
    kept = cache.get(product_type)
    if kept is None or kept[0] <= now:
        kept = cache[product_type] = (now + ttl, stage_summaries(product_type))
    return kept[1]


def stage_summaries(
    product_type: str, *, since: datetime | None = None
) -> dict[str, StageSummary | None]:
    """Median and 10th–90th percentile band per stage; None where there is no history."""
    out: dict[str, StageSummary | None] = {}
    for stage in STAGES:
        found = stage_quantiles(stage, [product_type], since, None).get(product_type)
        if found is None:
            out[stage.key] = None
            continue
        n, low, median, high = found
        out[stage.key] = StageSummary(
            n, timedelta(seconds=median), timedelta(seconds=low), timedelta(seconds=high)
        )
    return out
