"""ZPL II for Zebra thermal printers at 203 or 300 dpi, positions computed from millimetres.

Code 128 is the printer's own ``^BC`` field holding exactly the barcode data; Data Matrix is
``^BX``. Text goes through ``^FH`` so ``^``, ``~`` and ``_`` in a name cannot break the format.

Text is UTF-8 (``^CI28``) in the printer's scalable font ``^A0``. Every byte outside printable
ASCII is written as an ``_XX`` hex escape of its UTF-8 encoding, so the file is plain ASCII
whatever carries it to the printer, and the printer reassembles the UTF-8 sequence ("Ł" is
``_C5_81``). Printer requirement: firmware that knows ``^CI28`` (Zebra x.14 or later, e.g.
V60.14); the glyphs then come from the printer's resident ``^A0`` font, whose Latin Extended, Greek and
Cyrillic coverage varies by model and font pack: print a test label with such a name on each
site printer when it is installed (where glyphs are missing, load DejaVu Sans onto the printer).
The layout admits only what DejaVu Sans can draw.
"""

from __future__ import annotations

import math

from .layout import Bars, Box, Layout, Matrix, Text
from .model import QUIET_ZONE_X, X_MIN_MM, LabelDoesNotFit

DPIS = (203, 300)
MM_PER_INCH = 25.4


def dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / MM_PER_INCH)


def module_dots(x_mm: float, dpi: int) -> int:
    """The X-dimension in whole dots: the nearest, but never under 0.17 mm."""
    return max(dots(x_mm, dpi), math.ceil(X_MIN_MM * dpi / MM_PER_INCH))


def _plain(ch: str) -> bool:
    """Printable ASCII that means nothing to ZPL: written as itself."""
    return " " <= ch <= "~" and ch not in "^~_"


def _hex(text: str) -> str:
    """``^FH`` field data: special and non-ASCII characters as ``_XX`` per UTF-8 byte."""
    return "".join(ch if _plain(ch) else "".join(f"_{b:02X}" for b in ch.encode()) for ch in text)


def _field(text: str) -> str:
    if all(_plain(ch) for ch in text):
        return f"^FD{text}^FS"
    return f"^FH^FD{_hex(text)}^FS"


def _element(el, dpi: int, width_dots: int) -> str:
    if isinstance(el, Bars):
        module = module_dots(el.module, dpi)
        x = dots(el.x, dpi)
        if x + (len(el.modules) + QUIET_ZONE_X) * module > width_dots:
            raise LabelDoesNotFit(f"the barcode {el.data} does not fit at {dpi} dpi")
        height = dots(el.height, dpi)
        return (
            f"^FO{x},{dots(el.y, dpi)}^BY{module},3,{height}^BCN,{height},N,N,N,A{_field(el.data)}"
        )
    if isinstance(el, Matrix):
        return (
            f"^FO{dots(el.x, dpi)},{dots(el.y, dpi)}"
            f"^BXN,{max(dots(el.module, dpi), 1)},200,{len(el.rows)},{len(el.rows)}"
            f"{_field(el.data)}"
        )
    if isinstance(el, Box):
        stroke = max(dots(el.stroke, dpi), 1)
        return (
            f"^FO{dots(el.x, dpi)},{dots(el.y, dpi)}"
            f"^GB{dots(el.width, dpi)},{dots(el.height, dpi)},{stroke}^FS"
        )
    assert isinstance(el, Text)
    size = dots(el.size, dpi)
    font = f"^A0N,{size},{round(size * (0.9 if el.bold else 0.8))}"
    return f"^FO{dots(el.x, dpi)},{dots(el.top, dpi)}{font}^FH^FD{_hex(el.text)}^FS"


def render_zpl(layout: Layout, copies: int = 1, dpi: int = 203) -> bytes:
    if dpi not in DPIS:
        raise ValueError(f"dpi must be one of {DPIS}")
    stock = layout.stock
    width = dots(stock.width_mm, dpi)
    lines = [
        "^XA",
        "^CI28",  # UTF-8 field data: °C, names with accents
        f"^PW{width}",
        f"^LL{dots(stock.height_mm, dpi)}",
        "^LH0,0",
        *(_element(el, dpi, width) for el in layout.elements),
        f"^PQ{copies}",
        "^XZ",
    ]
    return ("\n".join(lines) + "\n").encode()
