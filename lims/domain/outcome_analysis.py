"""How the outcomes page groups courses and describes a group (decision 114): the bands of
dose, viability and digestion time, and a group's n, median, interquartile range and range.

Descriptive numbers only: no test of significance is made, so none is claimed. The bands are
data, read in one screen; a value on a band's edge belongs to the band above it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    below: float | None  # the band holds values under this (None: no upper edge)
    label: str


# Cells given (viable cells, from the products' QC) over the course's sessions up to the visit.
CELL_BANDS = (
    Band(5e6, "cells < 5 × 10⁶"),
    Band(20e6, "cells 5 to < 20 × 10⁶"),
    Band(None, "cells ≥ 20 × 10⁶"),
)
# Platelets given (PRP; platelet count × volume) when the course gave no cells.
PLATELET_BANDS = (
    Band(5e9, "platelets < 5 × 10⁹"),
    Band(10e9, "platelets 5 to < 10 × 10⁹"),
    Band(None, "platelets ≥ 10 × 10⁹"),
)
# The viability (%) QC measured on the course's first product given.
VIABILITY_BANDS = (
    Band(80, "viability < 80 %"),
    Band(90, "viability 80 to < 90 %"),
    Band(None, "viability ≥ 90 %"),
)
# Minutes of the collagenase digestion that made the course's first product (SVF, and MSC
# cultured from SVF), from the processing step recorded in the batch record.
DIGESTION_BANDS = (
    Band(45, "digestion < 45 min"),
    Band(60, "digestion 45 to < 60 min"),
    Band(None, "digestion ≥ 60 min"),
)
NO_DOSE = "dose not recorded"
NO_VIABILITY = "no viability result"
NO_DIGESTION = "not digested (no collagenase step)"


def band(value: float | None, bands: Sequence[Band], missing: str) -> str:
    if value is None:
        return missing
    for candidate in bands:
        if candidate.below is None or value < candidate.below:
            return candidate.label
    raise AssertionError("the last band has no upper edge")


def order(bands: Sequence[Band], *others: str) -> tuple[str, ...]:
    """The labels in the order a table lists them: the bands low to high, then the rest."""
    return (*(b.label for b in bands), *others)


def dose_band(cells: float | None, platelets: float | None) -> str:
    """A course that gave cells is banded by its cells (a PRP session beside them is not
    added: cells and platelets are not one quantity); one that gave only PRP by platelets."""
    if cells is not None:
        return band(cells, CELL_BANDS, NO_DOSE)
    return band(platelets, PLATELET_BANDS, NO_DOSE)


DOSE_ORDER = order(CELL_BANDS) + order(PLATELET_BANDS, NO_DOSE)
VIABILITY_ORDER = order(VIABILITY_BANDS, NO_VIABILITY)
DIGESTION_ORDER = order(DIGESTION_BANDS, NO_DIGESTION)


@dataclass(frozen=True)
class Spread:
    """A group's values described: n, median, quartiles (linear interpolation between the
    closest ranks, the "inclusive" method: the minimum is the 0th and the maximum the 100th
    percentile) and range."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        only = ordered[0]
        return Spread(1, only, only, only, only, only)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Spread(len(ordered), median, q1, q3, ordered[0], ordered[-1])
