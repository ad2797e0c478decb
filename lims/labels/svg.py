"""SVG: the on-screen preview of one label, at its true size in millimetres.

The text is in DejaVu Sans, declared with ``@font-face`` pointing at the vendored files served
from ``/static/fonts/`` (``lims/static/fonts``). Embedding them as ``data:`` URIs
would make every preview about 2 MB (1.47 MB of TTF, base64), and the preview is inlined into
the print dialog; by URL the browser fetches and caches the font once. Where the URL cannot be
reached (the SVG saved and opened elsewhere), each face falls back to an installed DejaVu Sans,
then the family to ``sans-serif``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .fonts import FAMILY, FILES, FONT
from .layout import Bars, Box, Layout, Matrix, Text
from .symbols import runs

BASELINE = 0.8  # baseline below the top of a text line, as a fraction of its size
FONT_URL = "/static/fonts/"  # where the web app serves lims/static/fonts
FALLBACK = f"'{FAMILY}', sans-serif"


def font_faces_css() -> str:
    """One ``@font-face`` per weight: the served file, else an installed DejaVu Sans. The
    one inline style the app sends; the Content-Security-Policy allows it by its hash."""
    return "".join(
        f"@font-face{{font-family:'{FAMILY}';font-weight:{'normal' if name == FONT else 'bold'};"
        f"src:url('{FONT_URL}{path.name}') format('truetype'),"
        f"local('{FAMILY}{'' if name == FONT else ' Bold'}')}}"
        for name, path in FILES.items()
    )


def _font_faces() -> str:
    return "<style>" + font_faces_css() + "</style>"


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
    family = quoteattr(FALLBACK)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" '
        f'viewBox="0 0 {w} {h}" role="img">',
        _font_faces(),
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<g fill="#000" shape-rendering="crispEdges" font-family={family}>',
        *(part for el in layout.elements for part in _element(el)),
        "</g></svg>",
    ]
    return "\n".join(parts).encode()
