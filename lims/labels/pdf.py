"""PDF: one label a page at the stock's own size, or print sheets of labels on Letter or A4.

A label printer's driver prints a page as one label: a PDF whose page is the stock (100 × 100 mm,
2" × 1") comes out right, where a label in the middle of a Letter page would be shrunk or cut. An
office printer takes sheets, several labels a page. Text is drawn in the vendored DejaVu Sans,
embedded (subset) in the PDF by reportlab, with the same metrics the layout measured with.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .fonts import BOLD, FONT
from .layout import Bars, Box, Layout, Matrix, Text
from .svg import BASELINE
from .symbols import runs

LABEL_PAGE = "label"  # a page the size of the stock, one label on each
SHEETS = {"letter": letter, "a4": A4}  # in points
PAGES = (LABEL_PAGE, *SHEETS)


def default_page(copies: int) -> str:
    """One copy on the label's own page (a label printer); more on a Letter sheet, as before."""
    return LABEL_PAGE if copies == 1 else "letter"


def _draw(canvas: Canvas, layout: Layout, left: float, top: float, page_h: float) -> None:
    """One label whose top-left corner is at (left, top) mm from the page's top-left."""

    def y(v: float) -> float:
        return (page_h - top - v) * mm

    for el in layout.elements:
        if isinstance(el, Bars):
            for start, length in runs(el.modules):
                x = (left + el.x + start * el.module) * mm
                canvas.rect(x, y(el.y + el.height), length * el.module * mm, el.height * mm, 0, 1)
        elif isinstance(el, Matrix):
            for r, row in enumerate(el.rows):
                for c, bit in enumerate(row):
                    if bit == "1":
                        x = (left + el.x + c * el.module) * mm
                        side = el.module * mm
                        canvas.rect(x, y(el.y + (r + 1) * el.module), side, side, 0, 1)
        elif isinstance(el, Box):
            canvas.setLineWidth(el.stroke * mm)
            canvas.rect((left + el.x) * mm, y(el.y + el.height), el.width * mm, el.height * mm)
        elif isinstance(el, Text):
            canvas.setFont(BOLD if el.bold else FONT, el.size * mm)
            canvas.drawString((left + el.x) * mm, y(el.top + el.size * BASELINE), el.text)


def _canvas(out: io.BytesIO, size: tuple[float, float], title: str) -> Canvas:
    canvas = Canvas(out, pagesize=size, pageCompression=1, initialFontName=FONT)
    canvas.setTitle(title)
    return canvas


def _label_pages(layout: Layout, copies: int, out: io.BytesIO) -> Canvas:
    stock = layout.stock
    size = (stock.width_mm * mm, stock.height_mm * mm)
    canvas = _canvas(out, size, f"{copies} label(s), {stock.name} stock, one a page")
    for _ in range(copies):
        _draw(canvas, layout, 0, 0, stock.height_mm)
        canvas.showPage()
    return canvas


def _sheets(layout: Layout, copies: int, sheet: str, out: io.BytesIO) -> Canvas:
    """Labels filled row by row into the stock's grid, centred on each page."""
    stock = layout.stock
    size = SHEETS[sheet]
    page_w, page_h = size[0] / mm, size[1] / mm
    per_page = stock.sheet_columns * stock.sheet_rows
    left0 = (page_w - stock.sheet_columns * stock.width_mm) / 2
    top0 = (page_h - stock.sheet_rows * stock.height_mm) / 2
    canvas = _canvas(out, size, f"{copies} label(s), {stock.name} stock, {sheet} sheet")
    for n in range(copies):
        if n and n % per_page == 0:
            canvas.showPage()
        row, col = divmod(n % per_page, stock.sheet_columns)
        _draw(canvas, layout, left0 + col * stock.width_mm, top0 + row * stock.height_mm, page_h)
    canvas.showPage()
    return canvas


def render_pdf(layout: Layout, copies: int = 1, page: str | None = None) -> bytes:
    """``copies`` labels on ``page``: ``label`` (each on a page of the stock's size), ``letter``
    or ``a4`` (sheets); ``None`` is ``default_page(copies)``."""
    page = page or default_page(copies)
    if page not in PAGES:
        raise ValueError(f"page must be one of {', '.join(PAGES)}")
    out = io.BytesIO()
    if page == LABEL_PAGE:
        canvas = _label_pages(layout, copies, out)
    else:
        canvas = _sheets(layout, copies, page, out)
    canvas.save()
    return out.getvalue()
