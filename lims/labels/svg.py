"""SVG: the on-screen preview of one label, at its true size in millimetres."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .layout import BOLD, Bars, Box, Layout, Matrix, Text
from .symbols import runs

BASELINE = 0.8  # baseline below the top of a text line, as a fraction of its size


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _rect(x: float, y: float, w: float, h: float) -> str:
    return f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"/>'


def _element(el) -> list[str]:
    if isinstance(el, Bars):
        return [
            _rect(el.x + start * el.module, el.y, length * el.module, el.height)
            for start, length in runs(el.modules)
        ]
    if isinstance(el, Matrix):
        return [
            _rect(el.x + c * el.module, el.y + r * el.module, el.module, el.module)
            for r, row in enumerate(el.rows)
            for c, bit in enumerate(row)
            if bit == "1"
        ]
    if isinstance(el, Box):
        return [
            f'<rect x="{_num(el.x)}" y="{_num(el.y)}" width="{_num(el.width)}" '
            f'height="{_num(el.height)}" fill="none" stroke="#000" '
            f'stroke-width="{_num(el.stroke)}"/>'
        ]
    assert isinstance(el, Text)
    weight = ' font-weight="bold"' if el.bold else ""
    return [
        f'<text x="{_num(el.x)}" y="{_num(el.top + el.size * BASELINE)}" '
        f'font-size="{_num(el.size)}"{weight}>{escape(el.text)}</text>'
    ]


def render_svg(layout: Layout) -> bytes:
    stock = layout.stock
    w, h = _num(stock.width_mm), _num(stock.height_mm)
    family = quoteattr("Helvetica, Arial, sans-serif")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" '
        f'viewBox="0 0 {w} {h}" role="img" data-bold-font="{BOLD}">',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<g fill="#000" shape-rendering="crispEdges" font-family={family}>',
        *(part for el in layout.elements for part in _element(el)),
        "</g></svg>",
    ]
    return "\n".join(parts).encode()
