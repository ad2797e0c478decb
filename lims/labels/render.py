"""One entry point: a label, a stock and a format in, the bytes to send out."""

from __future__ import annotations

from .layout import layout
from .model import Label, Stock
from .pdf import render_pdf
from .svg import render_svg
from .zpl import render_zpl

FORMATS = ("svg", "pdf", "zpl")
MIMETYPES = {
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "zpl": "text/plain; charset=utf-8",
}


def render(
    label: Label,
    stock: Stock,
    fmt: str,
    *,
    copies: int = 1,
    dpi: int = 203,
    page: str | None = None,
) -> bytes:
    """SVG shows one label (a preview); PDF and ZPL carry ``copies``. ``page`` is the PDF's:
    ``label`` (the stock's size, one label a page), ``letter`` or ``a4`` (sheets); by default
    ``label`` for one copy and ``letter`` for more (``default_page``)."""
    placed = layout(label, stock)
    if fmt == "svg":
        return render_svg(placed)
    if fmt == "pdf":
        return render_pdf(placed, copies, page)
    if fmt == "zpl":
        return render_zpl(placed, copies, dpi)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")
