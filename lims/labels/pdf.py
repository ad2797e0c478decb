"""PDF: print sheets, several labels per Letter page, drawn with reportlab.

Text is drawn in the vendored DejaVu Sans, embedded (subset) in the PDF by reportlab, with the
same metrics the layout measured with.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import letter
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .fonts import BOLD, FONT
from .layout import Bars, Box, Layout, Matrix, Text
from .svg import BASELINE
from .symbols import runs


def _draw(canvas: Canvas, layout: Layout, left: float, top: float) -> None:
    """One label whose top-left corner is at (left, top) mm from the page's top-left."""
    page_h = letter[1] / mm

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


def render_pdf(layout: Layout, copies: int = 1) -> bytes:
    """``copies`` labels, filled row by row into the stock's grid, centred on each page."""
    stock = layout.stock
    page_w, page_h = letter[0] / mm, letter[1] / mm
    per_page = stock.sheet_columns * stock.sheet_rows
    left0 = (page_w - stock.sheet_columns * stock.width_mm) / 2
    top0 = (page_h - stock.sheet_rows * stock.height_mm) / 2
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=letter, pageCompression=1, initialFontName=FONT)
    canvas.setTitle(f"{copies} label(s), {stock.name} stock")
    for n in range(copies):
        if n and n % per_page == 0:
            canvas.showPage()
        row, col = divmod(n % per_page, stock.sheet_columns)
        _draw(canvas, layout, left0 + col * stock.width_mm, top0 + row * stock.height_mm)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
