"""Patients whose names are outside Windows-1252 get their labels, in every format and template.

A clinic cannot refuse a patient's label because of their name: the labels print in the vendored
DejaVu Sans (PDF, SVG) and UTF-8 ``^CI28`` (ZPL). Only what the font has no glyph for is refused.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import LedgerEntry
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: label rendering of names; storing them is tested on both in api/test_api_units_list)

from .conftest import linear_codes, pdf_image, pdf_text, svg_image, svg_text, zpl_text

NAMES = {
    "polish": "Łukasz Wójcik-Żak",
    "czech": "Antonín Dvořák",
    "turkish": "Şükrü Öztürk",
    "greek": "Νίκος Παπαδόπουλος",
    "cyrillic": "Анна Петрова",
}
TEMPLATES = ("source_tube", "product_bag", "wristband")


def hex_escaped(text: str) -> str:
    """How ``^FH`` field data spells UTF-8: every non-ASCII byte as ``_XX``."""
    return "".join(f"_{b:02X}" if b >= 0x80 else chr(b) for b in text.encode())


@pytest.fixture
def patient_label(client, token, register, act):
    """``patient_label(template, name, fmt)`` → the response for a label naming that patient."""

    def _label(template: str, name: str, fmt: str, mrn: str = "MRN-U1"):
        unit = register("ADIPOSE", name=name, mrn=mrn)
        if template == "product_bag":
            for action in ("receive", "start_processing", "complete_processing"):
                act(unit, action)
            unit = next(u for u in units.units_for_din(unit.din) if u.id != unit.id)
        path = (
            f"/api/v1/patients/{unit.patient.id}/label"
            if template == "wristband"
            else f"/api/v1/units/{unit.id}/label"
        )
        response = client.get(f"{path}?format={fmt}", headers=token("technician"))
        code = unit.patient.wristband if template == "wristband" else unit.barcode_data
        return response, code

    return _label


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_pdf_prints_the_exact_name_and_its_barcode_decodes(patient_label, template, name):
    response, code = patient_label(template, name, "pdf")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert name in pdf_text(response.data)
    assert code in linear_codes(pdf_image(response.data))


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_svg_preview_shows_the_name_in_the_vendored_font(patient_label, template, name):
    response, code = patient_label(template, name, "svg")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    svg = response.get_data(as_text=True)
    assert name in svg_text(response.data)
    assert "@font-face{font-family:'DejaVu Sans'" in svg
    assert "url('/static/fonts/DejaVuSans.ttf')" in svg
    assert code in linear_codes(svg_image(response.data))


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_zpl_carries_the_name_as_utf8_under_fh(patient_label, template, name):
    response, code = patient_label(template, name, "zpl")

    zpl = response.get_data(as_text=True)
    assert response.status_code == 200, zpl[:300]
    assert "^CI28" in zpl
    assert zpl.isascii()  # every UTF-8 byte is hex-escaped
    assert name in zpl_text(response.data)
    assert f"^FD{code}^FS" in zpl


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_wristband_zpl_spells_the_name_in_hex_escaped_utf8(patient_label, name):
    response, _ = patient_label("wristband", name, "zpl")

    assert f"^FH^FD{hex_escaped(name)}^FS" in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["svg", "pdf", "zpl"])
def test_a_name_the_font_cannot_draw_is_refused_and_nothing_is_recorded(patient_label, fmt):
    response, _ = patient_label("wristband", "山田 太郎", fmt)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "label_does_not_fit"
    assert "'山'" in error["message"] and "U+5C71" in error["message"]
    assert (
        db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == "print_label")).all()
        == []
    )


def test_the_web_app_serves_the_vendored_font(client, login):
    """The preview's @font-face URL resolves to the very file the PDF embeds."""
    from lims.labels.fonts import FILES, FONT

    login("technician")
    response = client.get("/static/fonts/DejaVuSans.ttf")

    assert response.status_code == 200
    assert response.data == FILES[FONT].read_bytes()
