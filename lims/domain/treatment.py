"""The treatment course after the product: indications and their staging scales, the sessions of a
plan, the outcome visits and what an assessment records, and adverse reactions (decisions 111–113).

Data readable in one screen, like the lifecycle and the QC catalogue: the services and pages read
these tables, the tests check them, nothing else spells them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .catalogue import PRODUCT_TYPES


@dataclass(frozen=True)
class Scale:
    key: str
    name: str
    stages: tuple[str, ...]


SCALES: dict[str, Scale] = {
    s.key: s
    for s in (
        Scale(
            "norwood_hamilton",
            "Norwood–Hamilton (men)",
            ("I", "II", "IIa", "III", "III vertex", "IIIa", "IV", "IVa", "V", "Va", "VI", "VII"),
        ),
        Scale("ludwig", "Ludwig (women)", ("I", "II", "III")),
        Scale(
            "savin",
            "Savin (women)",
            ("I-1", "I-2", "I-3", "I-4", "II-1", "II-2", "III", "advanced", "frontal"),
        ),
        # Severity of Alopecia Tool: the share of the scalp without hair, in bands
        Scale("salt", "SALT (alopecia areata)", ("S0", "S1", "S2", "S3", "S4", "S5")),
    )
}


@dataclass(frozen=True)
class Indication:
    key: str
    name: str
    scales: tuple[str, ...]  # the staging scales that fit it; () for none


INDICATIONS: dict[str, Indication] = {
    i.key: i
    for i in (
        Indication(
            "androgenetic_alopecia",
            "Androgenetic alopecia",
            ("norwood_hamilton", "ludwig", "savin"),
        ),
        Indication("alopecia_areata", "Alopecia areata", ("salt",)),
        Indication("telogen_effluvium", "Telogen effluvium", ()),
        Indication("other", "Other hair loss", ()),
    )
}

SESSION_KINDS = ("initial", "series", "maintenance")
SESSION_STATUSES = ("planned", "done", "cancelled")
# What a session gives: a product type of the catalogue (a fresh SVF or BM-MNC, a PRP of the
# series, a thawed MSC aliquot from the bank).
SESSION_PRODUCTS = PRODUCT_TYPES

# The dose of a session: what the product's QC says it holds per millilitre, times the volume
# given. Cells for the cell products (the viable cell count is the product's total), platelets
# for PRP (the platelet count is a concentration, ×10³ per µL).
DOSE_BASIS = {
    "SVF": "viable_cell_count",
    "BM-MNC": "viable_cell_count",
    "MSC(AT)": "viable_cell_count",
    "MSC(M)": "viable_cell_count",
    "PRP": "platelet_count",
}
DOSE_WORDS = {"viable_cell_count": "viable cells", "platelet_count": "platelets"}


def dose(basis: str, result: float, product_volume_ml: float, given_ml: float) -> tuple[int, float]:
    """The count given and its concentration per mL, from the QC result on the product.

    ``viable_cell_count``: the product's total viable cells, spread over its volume;
    ``platelet_count``: ×10³ platelets per µL, i.e. ×10⁶ per mL.
    """
    per_ml = result * 1_000_000 if basis == "platelet_count" else result / product_volume_ml
    return round(per_ml * given_ml), per_ml


# ---------------------------------------------------------------------------- outcome visits


@dataclass(frozen=True)
class Visit:
    key: str
    months: int

    @property
    def label(self) -> str:
        return "Baseline" if self.months == 0 else f"{self.months} months"


def visits(schedule_months: tuple[int, ...]) -> tuple[Visit, ...]:
    """The outcome visits of a schedule (``OUTCOME_SCHEDULE_MONTHS``, e.g. 0, 3, 6, 12)."""
    return tuple(
        Visit("baseline" if m == 0 else f"month_{m}", m) for m in sorted(set(schedule_months))
    )


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"0,3,6,12"`` → (0, 3, 6, 12); refuses what is not whole months 0–60."""
    try:
        months = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"an outcome schedule is months separated by commas, not {text!r}"
        ) from None
    if not months or any(not 0 <= m <= 60 for m in months):
        raise ValueError(f"an outcome schedule is months from 0 to 60, not {text!r}")
    return months


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


# The assessment's measures: (key, label, unit, lowest, highest). Hair counts are at a marked
# target area (phototrichogram), density is computed from count and area.
MEASURES = (
    ("hair_count", "Hair count", "hairs", 0, 5000),
    ("area_cm2", "Target area", "cm²", 0.1, 10),
    ("terminal_vellus_ratio", "Terminal/vellus ratio", "", 0, 100),
    ("shaft_diameter_um", "Mean hair shaft diameter", "µm", 5, 200),
)
# Global assessment scales: investigator and patient, −3 (greatly worse) … +3 (greatly improved);
# satisfaction 1 (very dissatisfied) … 5 (very satisfied).
GLOBAL_SCALE = {
    -3: "greatly worse",
    -2: "moderately worse",
    -1: "slightly worse",
    0: "no change",
    1: "slightly improved",
    2: "moderately improved",
    3: "greatly improved",
}
SATISFACTION = {
    1: "very dissatisfied",
    2: "dissatisfied",
    3: "neutral",
    4: "satisfied",
    5: "very satisfied",
}
PHOTO_VIEWS = ("vertex", "frontal", "left", "right", "occipital", "target_area")
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png"}
PHOTO_MAX_BYTES = 15 * 1024 * 1024

# ---------------------------------------------------------------------------- adverse reactions

SEVERITIES = ("mild", "moderate", "severe", "life_threatening", "fatal")
RELATIONS = ("unrelated", "unlikely", "possible", "probable", "definite")
REACTION_STATUSES = ("open", "closed")
