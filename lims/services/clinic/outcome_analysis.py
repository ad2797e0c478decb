"""The outcomes page's numbers (decision 114): each course's change from baseline at every
visit, and the response at one chosen visit grouped by product type, dose, viability and
digestion time, each group with n, median, interquartile range and range.

Read-only. Each visit counts by its *current* assessment (the latest correction); the change is
the visit's value minus the baseline's. What a course was given counts up to the chosen visit
(sessions given on or before its assessment). Only patients the reader may see are counted
(decision 61): a clinician's page describes their own patients.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...domain import outcome_analysis as bands
from ...domain import treatment as rules
from ...domain.errors import Invalid
from ...extensions import db
from ...models import LedgerEntry, OutcomeAssessment, QcResult, TreatmentPlan, Unit, User
from .. import access
from . import outcomes

DIGESTION_STEP = "collagenase_digestion"
DEFAULT_VISIT_MONTHS = 6


@dataclass(frozen=True)
class VisitValue:
    """One visit of one course, by its current assessment."""

    visit: str
    label: str
    months: int
    assessed_at: datetime
    assessment_id: int
    corrected: bool  # the current row corrects an earlier one
    density: float | None
    hair_count: int | None
    density_change: float | None  # from baseline; None without both values
    count_change: int | None


@dataclass(frozen=True)
class Course:
    plan_id: int
    patient_id: int
    patient_name: str
    mrn: str
    course_code: str
    product_types: tuple[str, ...]  # of the sessions given up to the chosen visit
    cells: int | None  # viable cells given up to the chosen visit (None: none, or unknown)
    platelets: int | None
    viability: float | None  # % on the first product given
    digestion_min: float | None  # collagenase digestion that made the first product
    visits: tuple[VisitValue, ...]
    response: float | None  # density change at the chosen visit
    groups: dict[str, str] = field(default_factory=dict)  # grouping key → group label

    @property
    def product_label(self) -> str:
        return " + ".join(self.product_types) or "none given"


@dataclass(frozen=True)
class Group:
    label: str
    values: tuple[float, ...]
    spread: bands.Spread


@dataclass(frozen=True)
class Grouping:
    key: str
    title: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Analysis:
    visit: rules.Visit
    visits: tuple[rules.Visit, ...]
    courses: tuple[Course, ...]
    groupings: tuple[Grouping, ...]

    @property
    def responding(self) -> int:
        """Courses with a response at the chosen visit (baseline and visit density)."""
        return sum(1 for c in self.courses if c.response is not None)


GROUPINGS = (
    ("product_type", "By product type"),
    ("dose", "By dose given (cells, or platelets for PRP alone)"),
    ("viability", "By the product's viability"),
    ("digestion", "By collagenase digestion time"),
)


def parse_visit(args: Mapping[str, str]) -> rules.Visit:
    """The visit asked for (``?visit=month_6``); default 6 months (else the last visit)."""
    schedule = [v for v in outcomes.schedule() if v.months > 0]
    if not schedule:
        raise Invalid("the outcome schedule has no visit after baseline", code="no_visits")
    wanted = (args.get("visit") or "").strip()
    if not wanted:
        chosen = next((v for v in schedule if v.months == DEFAULT_VISIT_MONTHS), schedule[-1])
        return chosen
    found = next((v for v in schedule if v.key == wanted), None)
    if found is None:
        known = ", ".join(v.key for v in schedule)
        raise Invalid(
            f"invalid data — visit: a visit after baseline: {known}",
            code="invalid_fields",
            fields={"visit": f"one of {known}"},
        )
    return found


def analyse(viewer: User, visit: rules.Visit) -> Analysis:
    plans = list(
        db.session.scalars(
            select(TreatmentPlan)
            .where(access.visible_patients(viewer, TreatmentPlan.patient_id))
            .options(selectinload(TreatmentPlan.sessions), selectinload(TreatmentPlan.patient))
            .order_by(TreatmentPlan.id)
        )
    )
    schedule = outcomes.schedule()
    current = _current_assessments([p.id for p in plans])
    first_units = _first_units(plans)
    viability = _viability(first_units.values())
    digestion = _digestion(first_units.values())
    made = []
    for plan in plans:
        rows = current.get(plan.id, {})
        values = _visit_values(schedule, rows)
        at_visit = rows.get(visit.key)
        given = [
            s
            for s in plan.sessions
            if s.administered_at is not None
            and (at_visit is None or s.administered_at <= at_visit.assessed_at)
        ]
        cells, platelets = _dose(given)
        unit = first_units.get(plan.id)
        response = next(
            (v.density_change for v in values if v.visit == visit.key and v.months > 0), None
        )
        course = Course(
            plan_id=plan.id,
            patient_id=plan.patient_id,
            patient_name=plan.patient.name,
            mrn=plan.patient.mrn,
            course_code=plan.course_code,
            product_types=tuple(dict.fromkeys(s.product_type for s in given)),
            cells=cells,
            platelets=platelets,
            viability=viability.get(unit.id) if unit else None,
            digestion_min=digestion.get(unit.id) if unit else None,
            visits=tuple(values),
            response=response,
        )
        course.groups.update(
            product_type=course.product_label,
            dose=bands.dose_band(cells, platelets),
            viability=bands.band(course.viability, bands.VIABILITY_BANDS, bands.NO_VIABILITY),
            digestion=bands.band(course.digestion_min, bands.DIGESTION_BANDS, bands.NO_DIGESTION),
        )
        made.append(course)
    return Analysis(visit, schedule, tuple(made), _groupings(made))


def _current_assessments(plan_ids: list[int]) -> dict[int, dict[str, OutcomeAssessment]]:
    """Each plan's current assessment per visit: the latest row (a correction supersedes)."""
    found: dict[int, dict[str, OutcomeAssessment]] = {}
    if not plan_ids:
        return found
    for row in db.session.scalars(
        select(OutcomeAssessment)
        .where(OutcomeAssessment.plan_id.in_(plan_ids))
        .order_by(OutcomeAssessment.id)
    ):
        found.setdefault(row.plan_id, {})[row.visit] = row
    return found


def _visit_values(
    schedule: tuple[rules.Visit, ...], rows: dict[str, OutcomeAssessment]
) -> list[VisitValue]:
    baseline = next((rows.get(v.key) for v in schedule if v.months == 0), None)
    values = []
    for visit in schedule:
        row = rows.get(visit.key)
        if row is None:
            continue
        density_change = count_change = None
        if (
            baseline is not None
            and baseline.density_per_cm2 is not None
            and row.density_per_cm2 is not None
        ):
            density_change = round(row.density_per_cm2 - baseline.density_per_cm2, 1)
        if baseline is not None and baseline.hair_count is not None and row.hair_count is not None:
            count_change = row.hair_count - baseline.hair_count
        values.append(
            VisitValue(
                visit=visit.key,
                label=visit.label,
                months=visit.months,
                assessed_at=row.assessed_at,
                assessment_id=row.id,
                corrected=row.corrects_id is not None,
                density=row.density_per_cm2,
                hair_count=row.hair_count,
                density_change=density_change,
                count_change=count_change,
            )
        )
    return values


def _dose(given) -> tuple[int | None, int | None]:
    """Cells and platelets given; a basis with a session of unknown dose is unknown."""
    totals: dict[str, int | None] = {}
    for session in given:
        basis = rules.DOSE_BASIS.get(session.product_type)
        if basis is None:
            continue
        known = totals.get(basis, 0)
        count = session.dose_count if session.dose_basis == basis else None
        totals[basis] = None if known is None or count is None else known + count
    return totals.get("viable_cell_count"), totals.get("platelet_count")


def _first_units(plans: list[TreatmentPlan]) -> dict[int, Unit]:
    """Each plan's first product given."""
    found = {}
    for plan in plans:
        given = sorted(
            (s for s in plan.sessions if s.administered_at is not None and s.unit is not None),
            key=lambda s: (s.administered_at, s.number),
        )
        if given:
            found[plan.id] = given[0].unit
    return found


def _ancestors(unit: Unit) -> list[Unit]:
    chain, node = [], unit
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def _viability(units) -> dict[int, float]:
    """The current viability result of each product: on the unit or what it was split from
    (same product code); the latest result (or correction) counts."""
    material = {}
    for unit in units:
        chain = _ancestors(unit)
        same = [chain[0]]
        for node in chain[1:]:
            if node.product_code != unit.product_code:
                break
            same.append(node)
        for node in same:
            material[node.id] = unit.id
    if not material:
        return {}
    found: dict[int, float] = {}
    for result in db.session.scalars(
        select(QcResult)
        .where(QcResult.unit_id.in_(list(material)), QcResult.test == "viability")
        .order_by(QcResult.id)
    ):
        if result.value_number is not None:
            found[material[result.unit_id]] = result.value_number
    return found


def _digestion(units) -> dict[int, float]:
    """Minutes of the collagenase digestion step that made each product (from the nearest
    ancestor whose processing recorded one), as written in the batch record."""
    owner: dict[int, list[tuple[int, int]]] = {}
    for unit in units:
        for depth, node in enumerate(_ancestors(unit)[1:]):
            owner.setdefault(node.id, []).append((unit.id, depth))
    if not owner:
        return {}
    found: dict[int, tuple[int, float]] = {}
    for entry in db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.unit_id.in_(list(owner)), LedgerEntry.action == "record_step")
        .order_by(LedgerEntry.seq)
    ):
        data = json.loads(entry.data)
        if data.get("step") != DIGESTION_STEP:
            continue
        try:
            began = datetime.fromisoformat(data["started_at"])
            ended = datetime.fromisoformat(data["ended_at"])
        except (KeyError, TypeError, ValueError):
            continue
        minutes = round((ended - began).total_seconds() / 60, 1)
        for unit_id, depth in owner[entry.unit_id]:
            nearest = found.get(unit_id)
            if nearest is None or depth <= nearest[0]:  # the latest of the nearest processing
                found[unit_id] = (depth, minutes)
    return {unit_id: minutes for unit_id, (_, minutes) in found.items()}


def _groupings(courses: list[Course]) -> tuple[Grouping, ...]:
    orders = {
        "dose": bands.DOSE_ORDER,
        "viability": bands.VIABILITY_ORDER,
        "digestion": bands.DIGESTION_ORDER,
    }
    made = []
    for key, title in GROUPINGS:
        values: dict[str, list[float]] = {}
        for course in courses:
            if course.response is not None:
                values.setdefault(course.groups[key], []).append(course.response)
        order = orders.get(key) or tuple(sorted(values))
        groups = tuple(
            Group(label, tuple(values[label]), bands.spread(values[label]))  # type: ignore[arg-type]
            for label in order
            if label in values
        )
        made.append(Grouping(key, title, groups))
    return tuple(made)


# ---------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "mrn",
    "patient",
    "course",
    "plan_id",
    "products_given",
    "cells_given",
    "platelets_given",
    "dose_band",
    "viability_pct",
    "digestion_min",
    "visit",
    "months",
    "assessed_at_utc",
    "assessment_id",
    "corrected",
    "density_per_cm2",
    "density_change",
    "hair_count",
    "hair_count_change",
)


def csv_text(analysis: Analysis) -> str:
    """One row per course and visit (current assessments), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in analysis.courses:
        for v in c.visits:
            writer.writerow(
                [
                    _cell(c.mrn),
                    _cell(c.patient_name),
                    c.course_code,
                    c.plan_id,
                    c.product_label,
                    _blank(c.cells),
                    _blank(c.platelets),
                    c.groups["dose"],
                    _blank(c.viability),
                    _blank(c.digestion_min),
                    v.visit,
                    v.months,
                    v.assessed_at.isoformat(),
                    v.assessment_id,
                    "yes" if v.corrected else "no",
                    _blank(v.density),
                    _blank(v.density_change),
                    _blank(v.hair_count),
                    _blank(v.count_change),
                ]
            )
    return out.getvalue()


def _blank(value: object) -> object:
    return "" if value is None else value


def _cell(text: str) -> str:
    """No spreadsheet formula out of a name typed by a person."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
