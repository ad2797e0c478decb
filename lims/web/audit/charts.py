"""Charts drawn from the lab's own data as server-side SVG: turnaround per stage per product type, QC results over time with the spec limits, units per week by type.

One page, ``/audit/charts``, for QA and admins (the audit workspace's readers). Filters
come in the query string; unreadable ones are a 422 with a message beside each field and
no charts, never a 500.
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from ... import charts
from ...domain import qc
from ...domain.errors import Invalid
from ...domain.turnaround import STAGES
from ...models.types import utcnow
from ...security import roles_required
from ...services.audit import stats
from ...timefmt import site_zone
from . import bp
from .access import AUDITORS


@bp.get("/charts", endpoint="charts")
@roles_required(*AUDITORS)
def charts_page() -> ResponseReturnValue:
    options = {
        "product_types": stats.PRODUCT_TYPES,
        "tests": [(key, qc.TESTS[key].name) for key in stats.NUMERIC_TESTS],
        "max_weeks": stats.MAX_WEEKS,
    }
    try:
        filters = stats.parse_filters(request.args)
    except Invalid as exc:
        chosen = {k: request.args.get(k, "")[:40] for k in ("type", "test", "weeks")}
        return render_template(
            "audit/charts.html", error=exc, chosen=chosen, drawn=None, **options
        ), exc.http_status
    zone = site_zone()
    span = stats.period(filters.weeks, now=utcnow(), zone=zone)
    bands = stats.turnaround(filters.product_types, since=span.start, until=span.end)
    results = stats.qc_over_time(
        filters.product_types, filters.test, since=span.start, until=span.end
    )
    unit_types = filters.product_types if filters.product_type else stats.UNIT_TYPES
    weeks = stats.units_per_week(span, unit_types)
    drawn = {
        "turnaround": charts.turnaround_chart(
            bands, [(s.key, s.label) for s in STAGES], filters.product_types
        ),
        "qc": charts.qc_chart(
            results.points,
            results.limits,
            test_name=results.test.name,
            unit=results.test.unit,
            product_types=results.product_types,
            zone=zone,
        ),
        "weekly": charts.weekly_chart(weeks, unit_types),
    }
    return render_template(
        "audit/charts.html",
        error=None,
        chosen=filters.as_args(),
        filters=filters,
        span=span,
        bands=bands,
        results=results,
        weeks=weeks,
        unit_types=[t for t in unit_types if any(w.counts.get(t) for w in weeks)],
        drawn=drawn,
        number_text=qc.number_text,
        **options,
    )
