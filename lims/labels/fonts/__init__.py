"""The label font, vendored: DejaVu Sans and DejaVu Sans Bold (Bitstream Vera licence, see
``lims/static/fonts/LICENSE``), so a label prints the same on any machine and names beyond
Windows-1252 (Polish, Czech, Turkish, Greek, Cyrillic) print instead of being refused. No
system font lookup. The files live in ``lims/static/fonts``, the one copy that the PDF embeds
and the web app serves to the SVG preview (static serves only files of its own, no links).

Registering here, once, lets the layout measure text with the very metrics the PDF draws with.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
FAMILY = "DejaVu Sans"  # the CSS family name the SVG preview declares
DIRECTORY = Path(__file__).resolve().parents[2] / "static" / "fonts"
FILES = {FONT: DIRECTORY / "DejaVuSans.ttf", BOLD: DIRECTORY / "DejaVuSans-Bold.ttf"}


@cache
def register() -> None:
    """Make both faces known to reportlab (for ``stringWidth`` and the PDF canvas)."""
    for name, path in FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(path)))


def covers(ch: str, bold: bool = False) -> bool:
    """Does the face have a glyph for this character (not the .notdef box)?"""
    register()
    face = pdfmetrics.getFont(BOLD if bold else FONT).face
    return ord(ch) in face.charToGlyph


register()
