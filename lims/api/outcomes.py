"""``GET /api/v1/outcomes``: the outcomes page's numbers as JSON (decision 114); same service
(``services.clinic.outcome_analysis``) and the same readers as the page."""

from __future__ import annotations

from flask_login import current_user

from ..domain.roles import Role
from ..pool import read_only
from ..security import roles_required
from ..services.clinic import outcome_analysis as analysis
from . import bp
from .body import query
from .outcomes_doc import (
    CourseOutcomeOut,
    GroupingOut,
    GroupOut,
    OutcomesOut,
    OutcomesQuery,
    VisitValueOut,
)
from .respond import json_response


def _course(c: analysis.Course) -> CourseOutcomeOut:
    return CourseOutcomeOut(
        plan_id=c.plan_id,
        patient_id=c.patient_id,
        patient=c.patient_name,
        mrn=c.mrn,
        course=c.course_code,
        products_given=list(c.product_types),
        cells_given=c.cells,
        platelets_given=c.platelets,
        viability_pct=c.viability,
        digestion_min=c.digestion_min,
        groups=dict(c.groups),
        response=c.response,
        visits=[
            VisitValueOut(
                visit=v.visit,
                months=v.months,
                assessed_at=v.assessed_at,
                assessment_id=v.assessment_id,
                corrected=v.corrected,
                density_per_cm2=v.density,
                density_change=v.density_change,
                hair_count=v.hair_count,
                hair_count_change=v.count_change,
            )
            for v in c.visits
        ],
    )


@bp.get("/outcomes")
@read_only
@roles_required(Role.CLINICIAN, Role.QA)
def outcomes():
    params = query(OutcomesQuery)
    visit = analysis.parse_visit({"visit": params.visit or ""})
    result = analysis.analyse(current_user._get_current_object(), visit)
    return json_response(
        OutcomesOut(
            visit=result.visit.key,
            measure="change in hair density (hairs per cm²) from baseline",
            courses=[_course(c) for c in result.courses],
            groupings=[
                GroupingOut(
                    key=g.key,
                    title=g.title,
                    groups=[
                        GroupOut(
                            label=group.label,
                            n=group.spread.n,
                            median=group.spread.median,
                            q1=group.spread.q1,
                            q3=group.spread.q3,
                            min=group.spread.low,
                            max=group.spread.high,
                            values=sorted(group.values),
                        )
                        for group in g.groups
                    ],
                )
                for g in result.groupings
            ],
        )
    )
