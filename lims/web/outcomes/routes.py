"""``/outcomes``: the change from baseline per patient and the response at a chosen visit by
group, drawn on the server with a data table beside each chart; ``/outcomes.csv`` the same
numbers, one row per course and visit. An unknown visit is a 422 with its message, never a
500."""

from __future__ import annotations

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...charts import outcomes as charts
from ...domain.errors import Invalid
from ...domain.roles import Role
from ...models.types import utcnow
from ...pool import read_only
from ...security import roles_required
from ...services.clinic import outcome_analysis as analysis
from ...services.clinic import outcomes
from . import bp

READERS = (Role.CLINICIAN, Role.QA)
MEASURE = "density (hairs/cm²)"


def drawn(result: analysis.Analysis) -> dict:
    visits = list(result.visits)
    lines = []
    for course in result.courses:
        by_visit = {v.visit: v.density_change for v in course.visits}
        lines.append(
            charts.PatientLine(
                f"{course.patient_name} ({course.course_code})",
                tuple(
                    (0.0 if v.months == 0 and v.key in by_visit else by_visit.get(v.key))
                    for v in visits
                ),
            )
        )
    made = {"change": charts.change_chart(lines, [v.label for v in visits], MEASURE)}
    for grouping in result.groupings:
        strips = [
            charts.GroupStrip(g.label, g.values, g.spread.median, g.spread.q1, g.spread.q3)
            for g in grouping.groups
        ]
        made[grouping.key] = charts.strip_chart(
            strips,
            f"Change in density at {result.visit.label.lower()}: {grouping.title[3:]}",
            f"Change in {MEASURE}",
        )
    return made


@bp.get("", endpoint="index")
@read_only
@roles_required(*READERS)
def outcomes_page() -> ResponseReturnValue:
    choices = [v for v in outcomes.schedule() if v.months > 0]
    try:
        visit = analysis.parse_visit(request.args)
    except Invalid as exc:
        return render_template(
            "outcomes/index.html",
            error=exc,
            choices=choices,
            chosen=request.args.get("visit", "")[:20],
            result=None,
        ), exc.http_status
    result = analysis.analyse(current_user._get_current_object(), visit)
    return render_template(
        "outcomes/index.html",
        error=None,
        choices=choices,
        chosen=visit.key,
        result=result,
        drawn=drawn(result),
    )


@bp.get("/export.csv", endpoint="csv")
@read_only
@roles_required(*READERS)
def outcomes_csv() -> ResponseReturnValue:
    try:
        visit = analysis.parse_visit(request.args)
    except Invalid as exc:
        return {"error": exc.code, "message": exc.message}, exc.http_status
    result = analysis.analyse(current_user._get_current_object(), visit)
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        analysis.csv_text(result),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="outcomes-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
