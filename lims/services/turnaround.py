"""Stage durations per product type, read from the products the lab has made (issue 6).

Only top-level products count (division "00" of a product made from its source): aliquots
share their parent's times and would count the same history twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..domain.catalogue import CATALOGUE
from ..domain.turnaround import STAGES, StageSummary, summarise
from ..extensions import db
from ..models import Unit

PRODUCT_TYPES = tuple(key for key, kind in CATALOGUE.items() if not kind.is_source)
COLUMNS = sorted({c for stage in STAGES for c in (stage.starts, stage.ends)})


def stage_durations(
    product_type: str, *, since: datetime | None = None
) -> dict[str, list[timedelta]]:
    """Every finished duration of each stage for products of one type (collected since
    ``since``, when given), in stage order."""
    stmt = select(*(getattr(Unit, c) for c in COLUMNS)).where(
        Unit.unit_type == product_type, Unit.division == "00"
    )
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


def stage_summaries(
    product_type: str, *, since: datetime | None = None
) -> dict[str, StageSummary | None]:
    """Median and 10th–90th percentile band per stage; None where there is no history."""
    return {
        key: summarise(durations)
        for key, durations in stage_durations(product_type, since=since).items()
    }
