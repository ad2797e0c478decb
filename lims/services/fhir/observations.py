"""Outcome assessments as FHIR R4 Observations (decision 114): one per measure recorded at a
visit, about the patient (``subject``) and the course's product (``focus``).

- Codes are ours (``urn:cell-lims:outcome-measure``): LOINC has no code for a phototrichogram's
  hair density or count at a marked target area, nor for the global assessment scales used
  here, and a near miss would mislead. The category says exam or survey.
- Quantities carry UCUM units (``/cm2``, ``{hairs}``, ``um``, ``1``); the scales are integers.
- An assessment row is never changed: a correction is a new row. Its Observations are
  ``corrected`` (with the reason); those of the row it replaced are ``entered-in-error``,
  naming their replacement, so a reader that kept them knows they no longer stand.

The id of an Observation is ``<assessment id>-<measure code>``; it stays the same for ever.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from ...extensions import db
from ...models import OutcomeAssessment, TreatmentSession
from .resources import BASE, UCUM, _drop_empty, instant, reference

MEASURE_SYSTEM = f"{BASE}outcome-measure"
ASSESSMENT = f"{BASE}outcome-assessment"  # an assessment row's id
VISIT = f"{BASE}fhir:StructureDefinition/outcome-visit"  # baseline, month_3 …
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# (code, display, the assessment's column, UCUM unit code, unit shown | None: an integer
# score, category)
MEASURES = (
    ("hair-density", "Hair density at the target area", "density_per_cm2", "/cm2", "/cm²", "exam"),
    ("hair-count", "Hair count at the target area", "hair_count", "{hairs}", "hairs", "exam"),
    (
        "terminal-vellus-ratio",
        "Terminal to vellus hair ratio",
        "terminal_vellus_ratio",
        "1",
        "ratio",
        "exam",
    ),
    ("hair-shaft-diameter", "Mean hair shaft diameter", "shaft_diameter_um", "um", "µm", "exam"),
    (
        "investigator-global",
        "Investigator's global assessment against baseline (-3 to +3)",
        "investigator_global",
        None,
        None,
        "exam",
    ),
    (
        "patient-global",
        "Patient's global assessment against baseline (-3 to +3)",
        "patient_global",
        None,
        None,
        "survey",
    ),
    ("satisfaction", "Patient satisfaction (1 to 5)", "satisfaction", None, None, "survey"),
)
CODES = tuple(m[0] for m in MEASURES)
METHOD = {"hair-density", "hair-count", "terminal-vellus-ratio", "hair-shaft-diameter"}


def split_id(ident: str) -> tuple[int, str] | None:
    """``"12-hair-density"`` → (12, "hair-density"); anything else None."""
    number, _, code = str(ident).partition("-")
    if not (number.isascii() and number.isdigit()) or code not in CODES or len(number) > 12:
        return None
    return int(number), code


def rows(*conditions: ColumnElement[bool]) -> list[OutcomeAssessment]:
    return list(
        db.session.scalars(
            select(OutcomeAssessment).where(*conditions).order_by(OutcomeAssessment.id)
        )
    )


def observations(assessments: list[OutcomeAssessment]) -> list[dict[str, Any]]:
    """Every Observation of these rows, in row then measure order."""
    if not assessments:
        return []
    plan_ids = {a.plan_id for a in assessments}
    replaced_by = {
        row.corrects_id: row.id
        for row in db.session.scalars(
            select(OutcomeAssessment).where(
                OutcomeAssessment.plan_id.in_(plan_ids), OutcomeAssessment.corrects_id.is_not(None)
            )
        )
    }
    given: dict[int, list[TreatmentSession]] = {}
    for session in db.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.plan_id.in_(plan_ids),
            TreatmentSession.unit_id.is_not(None),
            TreatmentSession.administered_at.is_not(None),
        )
        .order_by(TreatmentSession.administered_at, TreatmentSession.id)
    ):
        given.setdefault(session.plan_id, []).append(session)
    found = []
    for row in assessments:
        products = _focus(row, given.get(row.plan_id, []))
        for measure in MEASURES:
            made = observation(row, measure, products, replaced_by.get(row.id))
            if made is not None:
                found.append(made)
    return found


def _focus(row: OutcomeAssessment, sessions: list[TreatmentSession]) -> list[int]:
    """The course's products given up to the visit; for the baseline, the first given (the
    product whose effect it is the reference for)."""
    before = [s.unit_id for s in sessions if s.administered_at <= row.assessed_at]
    if not before and sessions:
        before = [sessions[0].unit_id]
    return list(dict.fromkeys(before))


def observation(
    row: OutcomeAssessment,
    measure: tuple,
    products: list[int],
    replaced_by: int | None,
) -> dict[str, Any] | None:
    code, display, column, ucum, shown, category = measure
    value = getattr(row, column)
    if value is None:
        return None
    if replaced_by is not None:
        status = "entered-in-error"
        note = f"superseded by Observation/{replaced_by}-{code}: corrected"
    elif row.corrects_id is not None:
        status = "corrected"
        note = f"corrects Observation/{row.corrects_id}-{code}: {row.reason}"
    else:
        status, note = "final", None
    if ucum is None:
        valued: dict[str, Any] = {"valueInteger": int(value)}
    else:
        valued = {
            "valueQuantity": {
                "value": value,
                "unit": shown,
                "system": UCUM,
                "code": ucum,
            }
        }
    return _drop_empty(
        {
            "resourceType": "Observation",
            "id": f"{row.id}-{code}",
            "identifier": [
                {"system": ASSESSMENT, "value": str(row.id)},
            ],
            "status": status,
            "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
            "code": {
                "coding": [{"system": MEASURE_SYSTEM, "code": code, "display": display}],
                "text": display,
            },
            "subject": reference("Patient", row.patient_id),
            "focus": [reference("BiologicallyDerivedProduct", unit_id) for unit_id in products],
            "effectiveDateTime": instant(row.assessed_at),
            "issued": instant(row.recorded_at),
            **valued,
            "method": {"text": "phototrichogram"} if code in METHOD else None,
            "bodySite": {"text": "scalp, marked target area"} if code in METHOD else None,
            "note": [{"text": note}] if note else [],
            "extension": [{"url": VISIT, "valueCode": row.visit}],
        }
    )
