"""The OpenAPI operation and schemas of the outcomes analysis (decision 114); ``openapi`` joins
them to the rest."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from .operation import Operation, Rule
from .schemas import Request, Response, UtcTime


class OutcomesQuery(Request):
    visit: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None,
        description="the visit whose change in density is grouped: a visit of the schedule "
        "after baseline (month_3, month_6, month_12 …); default month_6",
    )


class VisitValueOut(Response):
    visit: str = Field(description="baseline, month_3 …")
    months: int
    assessed_at: UtcTime
    assessment_id: int = Field(description="the current assessment (the latest correction)")
    corrected: bool = Field(description="the current values correct an earlier assessment")
    density_per_cm2: float | None
    density_change: float | None = Field(description="from baseline, hairs per cm²")
    hair_count: int | None
    hair_count_change: int | None = Field(description="from baseline, hairs")


class CourseOutcomeOut(Response):
    plan_id: int
    patient_id: int
    patient: str
    mrn: str
    course: str = Field(description="the chain-of-identity identifier of the course")
    products_given: list[str] = Field(description="product types given up to the chosen visit")
    cells_given: int | None = Field(description="viable cells given up to the chosen visit")
    platelets_given: int | None = Field(description="platelets given up to the chosen visit")
    viability_pct: float | None = Field(description="viability QC of the first product given")
    digestion_min: float | None = Field(description="collagenase digestion that made it")
    groups: dict[str, str] = Field(description="the group of each grouping the course falls in")
    response: float | None = Field(description="the change in density at the chosen visit")
    visits: list[VisitValueOut]


class GroupOut(Response):
    label: str
    n: int
    median: float
    q1: float = Field(description="first quartile (inclusive method)")
    q3: float = Field(description="third quartile (inclusive method)")
    min: float
    max: float
    values: list[float] = Field(description="each course's change in density, low to high")


class GroupingOut(Response):
    key: str = Field(description="product_type, dose, viability or digestion")
    title: str
    groups: list[GroupOut]


class OutcomesOut(Response):
    visit: str = Field(description="the visit whose response is grouped")
    measure: str = Field(description="what the response is: change in density per cm²")
    courses: list[CourseOutcomeOut]
    groupings: list[GroupingOut]


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/outcomes",
        "outcomes",
        "Outcomes of the treatment courses the caller may see: each visit's change from "
        "baseline (current assessments), and the change in density at one visit grouped by "
        "product type, dose band, viability band and digestion time, each group with n, "
        "median, quartiles and range (descriptive only: no test of significance)",
        "OutcomesOut",
        query="OutcomesQuery",
        errors=(401, 403, 422),
        rules=(
            Rule(
                "visit",
                ("invalid_fields",),
                "a visit of the configured schedule after baseline (OUTCOME_SCHEDULE_MONTHS)",
            ),
        ),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (OutcomesQuery,)
OUTPUTS: tuple[type[BaseModel], ...] = (OutcomesOut,)
