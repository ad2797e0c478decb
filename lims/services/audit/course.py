"""A patient's treatment course read whole (docs/treatment.md): each therapy course with its units, its
plan and sessions (the product given and the dose in words), and the outcome visits with their
current assessment, the versions it corrected, the photographs and the change from baseline.

Reads only, for ``GET /api/v1/patients/<id>/course`` and the page ``/patients/<id>/treatment``,
which show the same thing. The plan is ``actions.treatment``'s, the visits
``clinic.outcomes``'; this group sits above both, so the two meet here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app

from ...domain import treatment as rules
from ...domain.qc import SUPERSCRIPT
from ...models import (
    AssessmentPhoto,
    OutcomeAssessment,
    Patient,
    TherapyCourse,
    TreatmentPlan,
    TreatmentSession,
    Unit,
    User,
)
from ...models.types import utcnow
from ...timefmt import site_zone
from ..actions import treatment
from ..clinic import outcomes


def count_text(count: float) -> str:
    """1000000 → "1.0 × 10⁶" (a dose as the clinic writes it); small counts as they are."""
    if abs(count) < 1000:
        return f"{count:g}"
    mantissa, exponent = f"{count:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def dose_words(session: TreatmentSession) -> str | None:
    """ "1.0 × 10⁶ viable cells in 4 mL"; the volume alone when QC gave no count; None before
    the session is given."""
    if session.dose_volume_ml is None:
        return None
    volume = f"{session.dose_volume_ml:g} mL"
    if session.dose_count is None or session.dose_basis is None:
        return f"{volume} (no QC count on record for a dose)"
    what = rules.DOSE_WORDS.get(session.dose_basis, session.dose_basis)
    return f"{count_text(session.dose_count)} {what} in {volume}"


@dataclass
class VisitView:
    visit: rules.Visit
    due_on: date | None
    state: str  # done, due, overdue, upcoming, not_scheduled
    assessment: OutcomeAssessment | None  # the current version
    earlier: list[OutcomeAssessment]  # the versions it corrected, oldest first
    photos: dict[str, AssessmentPhoto]  # view -> the latest photograph of the visit
    all_photos: list[AssessmentPhoto]
    density_change: float | None = None  # hairs/cm² against baseline's current density
    density_change_pct: float | None = None

    @property
    def key(self) -> str:
        return self.visit.key


@dataclass
class PlanView:
    plan: TreatmentPlan
    visits: list[VisitView]

    @property
    def baseline(self) -> VisitView | None:
        return next((v for v in self.visits if v.visit.months == 0), None)

    @property
    def photo_views(self) -> list[str]:
        """The standard views any visit has a photograph of, in the standard order."""
        taken = {view for v in self.visits for view in v.photos}
        return [view for view in rules.PHOTO_VIEWS if view in taken]


@dataclass
class CourseView:
    course: TherapyCourse
    units: list[Unit]
    plan: PlanView | None


@dataclass
class PatientCourse:
    patient: Patient
    courses: list[CourseView] = field(default_factory=list)

    @property
    def plans(self) -> list[PlanView]:
        return [c.plan for c in self.courses if c.plan is not None]


def today() -> date:
    return utcnow().astimezone(site_zone()).date()


def plan_view(plan: TreatmentPlan, on: date | None = None) -> PlanView:
    on = on or today()
    overdue = current_app.config["OUTCOME_OVERDUE_DAYS"]
    states = outcomes.visits_of(plan)
    ids = [row.id for s in states for row in s.history]
    photos = outcomes.photos_of(ids)
    views = []
    for s in states:
        taken = [p for row in s.history for p in photos.get(row.id, [])]
        latest: dict[str, AssessmentPhoto] = {}
        for photo in taken:  # oldest first: the latest of each view stays
            latest[photo.view] = photo
        views.append(
            VisitView(
                visit=s.visit,
                due_on=s.due_on,
                state=s.state(on, overdue),
                assessment=s.assessment,
                earlier=s.history[:-1],
                photos=latest,
                all_photos=taken,
            )
        )
    base = next((v for v in views if v.visit.months == 0), None)
    start = base.assessment.density_per_cm2 if base and base.assessment else None
    for v in views:
        now = v.assessment.density_per_cm2 if v.assessment else None
        if start is None or now is None or v is base:
            continue
        v.density_change = round(now - start, 1)
        v.density_change_pct = round((now - start) / start * 100, 1) if start else None
    return PlanView(plan, views)


def of_patient(patient_id: object, viewer: User) -> PatientCourse:
    """Everything of the patient's treatment ``viewer`` may see (else not found)."""
    found = treatment.course_of(patient_id, viewer)
    on = today()
    result = PatientCourse(found["patient"])
    for item in found["courses"]:
        plan = item["plan"]
        result.courses.append(
            CourseView(item["course"], item["units"], plan_view(plan, on) if plan else None)
        )
    return result


def plan_of(plan_id: object, viewer: User) -> PlanView:
    return plan_view(treatment.get_plan(plan_id, viewer))
