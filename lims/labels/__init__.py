"""Barcode labels: one label model (``model``), laid out once (``layout``), rendered three
ways from the same layout (``svg``, ``pdf``, ``zpl``). No Flask or database here."""

from .model import STOCKS, Code128, Label, LabelDoesNotFit, Stock
from .pdf import PAGES, default_page
from .render import FORMATS, MIMETYPES, render

__all__ = [
    "FORMATS",
    "MIMETYPES",
    "PAGES",
    "STOCKS",
    "Code128",
    "Label",
    "LabelDoesNotFit",
    "Stock",
    "default_page",
    "render",
]
