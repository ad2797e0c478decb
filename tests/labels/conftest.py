"""Label fixtures: a unit of each template, a patient, a location; decoders for the output."""

from __future__ import annotations

import functools
import io
import re

import pypdfium2
import pytest
from PIL import Image
from pylibdmtx import pylibdmtx
from pyzbar import pyzbar

from lims.domain import codes
from lims.extensions import db
from lims.models import Location
from lims.services.actions import units


def svg_image(svg: bytes, scale: float = 10) -> Image.Image:
    import cairosvg

    return Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg, scale=scale))).convert("L")


def pdf_image(pdf: bytes, dpi: int = 600) -> Image.Image:
    page = pypdfium2.PdfDocument(pdf)[0]
    return page.render(scale=dpi / 72).to_pil().convert("L")


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's width and height in millimetres (pdfium gives points, 72 to the inch)."""
    return [
        (width * 25.4 / 72, height * 25.4 / 72)
        for width, height in (page.get_size() for page in pypdfium2.PdfDocument(pdf))
    ]


def linear_codes(image: Image.Image) -> set[str]:
    """What zbar reads from the image: every Code 128 on it."""
    return {
        found.data.decode() for found in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.CODE128])
    }


def matrix_codes(image: Image.Image) -> set[str]:
    """Data Matrix, read by libdmtx (zbar does not read Data Matrix)."""
    small = image.resize((image.width // 3, image.height // 3))
    # a label carries one Data Matrix: the search stops at the first (the slow part is the search)
    return {found.data.decode() for found in pylibdmtx.decode(small, timeout=10000, max_count=1)}


@pytest.fixture
def product(register, act):
    """A product unit (SVF) in quarantine, from a received and processed adipose collection."""

    def _product(**overrides):
        source = register("ADIPOSE", **overrides)
        for action in ("receive", "start_processing", "complete_processing"):
            act(source, action)
        return next(u for u in units.units_for_din(source.din) if u.id != source.id)

    return _product


@pytest.fixture
def location(app):
    box = Location(
        code=codes.make_location_code(app.config["FACILITY_CODE"], 7),
        name="Box 3",
        kind="box",
    )
    db.session.add(box)
    db.session.commit()
    return box


@pytest.fixture
def subject(register, product, location):
    """``subject(kind)`` → (API path, barcode data) of a label of that template."""

    def _subject(kind: str) -> tuple[str, str]:
        if kind == "source_tube":
            unit = register("ADIPOSE")
            return f"/api/v1/units/{unit.id}/label", unit.barcode_data
        if kind == "product_bag":
            unit = product()
            return f"/api/v1/units/{unit.id}/label", unit.barcode_data
        if kind == "wristband":
            patient = register("ADIPOSE").patient
            return f"/api/v1/patients/{patient.id}/label", patient.wristband
        return f"/api/v1/locations/{location.id}/label", location.code

    return _subject


def pdf_text(pdf: bytes) -> str:
    """The text pdfium extracts from every page, whitespace (and line breaks) collapsed."""
    document = pypdfium2.PdfDocument(pdf)
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)


def svg_text(svg: bytes) -> str:
    """The SVG's ``<text>`` contents in order, one space between them (a wrapped line rejoins)."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(svg)
    return " ".join(el.text or "" for el in root.iter("{http://www.w3.org/2000/svg}text"))


def zpl_text(zpl: bytes) -> str:
    """What a printer prints from the ZPL's ``^FH`` fields: ``_XX`` bytes decoded as UTF-8."""
    fields = re.findall(rb"\^FH\^FD(.*?)\^FS", zpl)
    unescape = functools.partial(re.sub, rb"_([0-9A-F]{2})", lambda m: bytes.fromhex(m[1].decode()))
    return " ".join(unescape(field).decode() for field in fields)
