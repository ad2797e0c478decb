"""Place a label's content on a stock, once, in millimetres from the top-left corner.

Every renderer draws this same list of elements, so the preview, the sheet and the thermal
label cannot disagree about what a label says.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import stringWidth

from .fonts import BOLD, FONT, covers
from .model import QUIET_ZONE_X, Label, LabelDoesNotFit, Stock, module_width
from .symbols import code128_modules, datamatrix_rows

LINE = 1.22  # line height as a multiple of the text size
GAP = 0.8  # mm between blocks


@dataclass(frozen=True)
class Text:
    x: float
    top: float
    size: float  # em height in mm
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    stroke: float


@dataclass(frozen=True)
class Bars:
    """A Code 128 symbol; ``x`` is where the first bar starts (the quiet zone is before it)."""

    x: float
    y: float
    height: float
    module: float
    data: str
    modules: str


@dataclass(frozen=True)
class Matrix:
    x: float
    y: float
    module: float
    data: str
    rows: tuple[str, ...]

    @property
    def size(self) -> float:
        return self.module * len(self.rows)


Element = Text | Box | Bars | Matrix


@dataclass(frozen=True)
class Layout:
    stock: Stock
    elements: tuple[Element, ...]


def text_width(text: str, size: float, bold: bool = False) -> float:
    return stringWidth(text, BOLD if bold else FONT, size)


def _identifier(label: Label, stock: Stock, y: float, out: list[Element]) -> float:
    body, check = label.identifier  # type: ignore[misc]
    size, x = stock.heading_mm, stock.margin_mm
    out.append(Text(x, y, size, body, bold=True))
    x += text_width(body + " ", size, bold=True)
    pad = size * 0.15
    out.append(Box(x - pad, y - pad, text_width(check, size, True) + 2 * pad, size + pad, 0.25))
    out.append(Text(x, y, size, check, bold=True))
    return y + size * LINE + GAP


def _barcode(code, stock: Stock, width: float, y: float, out: list[Element]) -> float:
    modules = code128_modules(code.data)
    x = module_width(len(modules), width)
    out.append(
        Bars(stock.margin_mm + QUIET_ZONE_X * x, y, stock.bar_height_mm, x, code.data, modules)
    )
    y += stock.bar_height_mm + GAP / 2
    if code.caption:
        size = stock.text_min_mm
        out.append(Text(stock.margin_mm + QUIET_ZONE_X * x, y, size, code.caption))
        y += size * LINE
    return y + GAP / 2


def _wrap(text: str, size: float, width: float, bold: bool) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and text_width(candidate, size, bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    for line in lines:
        if text_width(line, size, bold) > width:
            raise LabelDoesNotFit(f"{line!r} is too wide for the {width:.0f} mm label")
    return lines


def _text_block(label: Label, stock: Stock, y: float, out: list[Element]) -> None:
    """The lines at the largest size that fits the space left, never under the minimum."""
    width = stock.width_mm - 2 * stock.margin_mm
    room = stock.height_mm - stock.margin_mm - y
    size = stock.text_max_mm
    while size >= stock.text_min_mm - 1e-9:
        try:
            plain = [w for line in label.lines for w in _wrap(line, size, width, False)]
            loud = [w for line in label.warnings for w in _wrap(line, size, width, True)]
        except LabelDoesNotFit:
            plain, loud = None, None
        if plain is not None and (len(plain) + len(loud)) * size * LINE <= room:
            for i, line in enumerate([*plain, *loud]):
                out.append(Text(stock.margin_mm, y + i * size * LINE, size, line, i >= len(plain)))
            return
        size = round(size - 0.1, 2)
    raise LabelDoesNotFit(
        f"the {label.kind.replace('_', ' ')} label's text does not fit the {stock.name} stock "
        f"at {stock.text_min_mm} mm text; choose a larger stock"
    )


def _printable(label: Label) -> None:
    """Refuse only what no output can print: a control character, or a glyph DejaVu Sans lacks.

    Every renderer draws text in the vendored DejaVu Sans (the printer's ``^A0`` for ZPL), so a
    name in Polish, Czech, Turkish, Greek or Cyrillic prints; a character the font has no glyph
    for (CJK, for one) would come out as a blank box on a bag, so it is refused, not printed wrong.
    """
    for line, bold in [*((t, False) for t in label.lines), *((t, True) for t in label.warnings)]:
        for ch in line:
            if unicodedata.category(ch) in ("Cc", "Cs") or not covers(ch, bold):
                raise LabelDoesNotFit(
                    f"{line!r} contains {ch!r} (U+{ord(ch):04X}), which the label font "
                    "(DejaVu Sans) cannot print"
                )


def layout(label: Label, stock: Stock) -> Layout:
    """Identifier, then barcodes (Data Matrix to their right), then the text lines."""
    _printable(label)
    out: list[Element] = []
    top = y = stock.margin_mm
    width = stock.width_mm - 2 * stock.margin_mm
    if label.datamatrix:
        rows = datamatrix_rows(label.datamatrix)
        size = stock.matrix_module_mm * len(rows)
        x = stock.width_mm - stock.margin_mm - size
        out.append(Matrix(x, top, stock.matrix_module_mm, label.datamatrix, rows))
        width -= size + 2 * GAP
    if label.identifier:
        y = _identifier(label, stock, y, out)
    for code in label.barcodes:
        y = _barcode(code, stock, width, y, out)
    if label.datamatrix:
        y = max(y, top + size + GAP)
    _text_block(label, stock, y, out)
    return Layout(stock, tuple(out))
