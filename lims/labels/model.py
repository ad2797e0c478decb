"""The label model: what a label says and which codes it carries, independent of output.

Code 128 follows ISBT 128 practice: X-dimension 0.25 mm (never under 0.17 mm), a quiet zone
of at least 10 X on each side and bars at least 5 mm high. A stock too small for a code at
0.17 mm is refused (``LabelDoesNotFit``) rather than printed unreadably small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

X_PREFERRED_MM = 0.25
X_MIN_MM = 0.17
QUIET_ZONE_X = 10
BAR_HEIGHT_MIN_MM = 5.0


class LabelDoesNotFit(ValueError):
    """The content or a barcode cannot be printed on this stock within the rules."""


@dataclass(frozen=True)
class Stock:
    """A label size, and the sizes that suit it (all in millimetres)."""

    name: str
    width_mm: float
    height_mm: float
    margin_mm: float
    heading_mm: float  # eye-readable identifier
    bar_height_mm: float
    text_max_mm: float
    text_min_mm: float
    matrix_module_mm: float
    sheet_columns: int  # labels per row on a PDF sheet
    sheet_rows: int

    def __post_init__(self) -> None:
        if self.bar_height_mm < BAR_HEIGHT_MIN_MM:
            raise ValueError(f"bars must be at least {BAR_HEIGHT_MIN_MM} mm high")


STOCKS: dict[str, Stock] = {
    # 2" x 1" tube label; 4 x 10 on a Letter sheet.
    "tube": Stock("tube", 50.8, 25.4, 1.2, 2.6, 5.5, 2.2, 1.5, 0.3, 4, 10),
    # 100 x 100 mm (4" x 4") product bag label; 2 x 2 on a Letter sheet.
    "bag": Stock("bag", 100.0, 100.0, 4.0, 6.0, 12.0, 3.6, 2.0, 0.5, 2, 2),
}


@dataclass(frozen=True)
class Code128:
    """One linear barcode: exactly ``data`` is encoded; ``caption`` is printed under it."""

    data: str
    caption: str | None = None


@dataclass(frozen=True)
class Label:
    """What one label carries; ``identifier`` is the eye-readable form and its boxed check
    character, e.g. (``"C0001 26 000005"``, ``"H"``)."""

    kind: str
    lines: tuple[str, ...]
    barcodes: tuple[Code128, ...]
    identifier: tuple[str, str] | None = None
    datamatrix: str | None = None
    warnings: tuple[str, ...] = field(default=())  # printed bold, after the lines


def module_width(modules: int, available_mm: float) -> float:
    """The X-dimension for a code of ``modules`` modules plus quiet zones in the width.

    0.25 mm if it fits, narrower down to 0.17 mm; below that the stock is refused.
    """
    needed = modules + 2 * QUIET_ZONE_X
    x = min(X_PREFERRED_MM, available_mm / needed)
    if x < X_MIN_MM:
        raise LabelDoesNotFit(
            f"a {modules}-module Code 128 needs {needed * X_MIN_MM:.1f} mm at the minimum "
            f"X-dimension of {X_MIN_MM} mm; only {available_mm:.1f} mm is available"
        )
    return x
