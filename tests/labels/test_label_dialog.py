"""The print dialog in the browser: reachable from the unit page, previews, prints, reprints."""

from __future__ import annotations

import pytest

from .conftest import linear_codes, page_sizes, pdf_image
from .test_label_api import entries


@pytest.mark.parametrize(
    ("role", "shown"), [("technician", True), ("qa", True), ("admin", True), ("clinician", False)]
)
def test_the_unit_page_offers_print_label_to_those_who_may_print(login, register, role, shown):
    unit = register("ADIPOSE")
    page = login(role).get(f"/units/{unit.id}").get_data(as_text=True)

    assert (f'href="/labels/units/{unit.id}"' in page) is shown


def test_the_dialog_shows_the_svg_preview_inline_and_records_nothing(login, register):
    unit = register("ADIPOSE")
    page = login("technician").get(f"/labels/units/{unit.id}").get_data(as_text=True)

    assert "<svg" in page and unit.patient.name in page
    assert 'value="tube" checked' in page or "checked" in page
    assert entries() == []


@pytest.mark.req("F-2")
def test_printing_downloads_the_sheet_and_a_reprint_asks_for_a_reason(login, register):
    unit = register("ADIPOSE")
    client = login("technician")
    form = {"stock": "tube", "format": "pdf", "copies": "2", "dpi": "203"}

    first = client.post(f"/labels/units/{unit.id}", data=form)
    again = client.post(f"/labels/units/{unit.id}", data=form)
    reprint = client.post(f"/labels/units/{unit.id}", data={**form, "reason": "label torn"})

    assert first.mimetype == "application/pdf"
    assert unit.barcode_data in linear_codes(pdf_image(first.data))
    assert again.status_code == 422
    assert "a reprint needs a reason" in again.get_data(as_text=True)
    assert reprint.mimetype == "application/pdf"
    assert [(e.action, e.reason) for e in entries()] == [
        ("print_label", None),
        ("reprint_label", "label torn"),
    ]


def test_the_dialog_prints_one_tube_label_a_page_when_asked(login, register):
    unit = register("ADIPOSE")
    form = {"stock": "tube", "format": "pdf", "copies": "2", "page": "label", "dpi": "203"}

    printed = login("technician").post(f"/labels/units/{unit.id}", data=form)

    assert page_sizes(printed.data) == [pytest.approx((50.8, 25.4), abs=0.01)] * 2


def test_bad_values_are_shown_on_the_form_and_print_nothing(login, register):
    unit = register("ADIPOSE")
    response = login("qa").post(
        f"/labels/units/{unit.id}", data={"format": "pdf", "copies": "lots"}
    )

    assert response.status_code == 422
    assert "copies" in response.get_data(as_text=True)
    assert entries() == []


def test_a_unit_in_a_final_status_has_no_print_dialog(login, register, act):
    unit = register("ADIPOSE")
    act(unit, "discard")
    client = login("technician")

    assert client.get(f"/labels/units/{unit.id}").status_code == 409
    assert "Print label" not in client.get(f"/units/{unit.id}").get_data(as_text=True)


def test_a_clinician_prints_a_wristband_from_its_dialog(login, register):
    patient = register("ADIPOSE").patient
    client = login("clinician")

    page = client.get(f"/labels/patients/{patient.id}").get_data(as_text=True)
    printed = client.post(f"/labels/patients/{patient.id}", data={"format": "zpl"})

    assert "<svg" in page and patient.name in page
    assert f"^FD{patient.wristband}^FS" in printed.get_data(as_text=True)
    assert [e.action for e in entries()] == ["print_label"]


def test_a_location_label_prints_from_its_dialog(login, location):
    client = login("technician")

    page = client.get(f"/labels/locations/{location.id}").get_data(as_text=True)
    printed = client.post(f"/labels/locations/{location.id}", data={"stock": "tube"})

    assert location.code in page
    assert location.code in linear_codes(pdf_image(printed.data))
    assert [e.action for e in entries()] == ["print_label"]


@pytest.mark.req("F-2")
def test_prints_and_reprints_appear_in_the_units_history(login, register):
    unit = register("ADIPOSE")
    client = login("technician")
    client.post(f"/labels/units/{unit.id}", data={"format": "zpl"})
    client.post(f"/labels/units/{unit.id}", data={"format": "zpl", "reason": "wet label"})

    page = client.get(f"/units/{unit.id}").get_data(as_text=True)

    assert 'data-action="print_label"' in page
    assert 'data-action="reprint_label"' in page
    assert "wet label" in page


@pytest.mark.parametrize("reason", ["torn\x00off", "torn\x07off"])
def test_a_reprint_reason_with_a_control_character_is_refused_on_the_form(login, register, reason):
    """The reason goes into the ledger: a NUL there was a 500 (PostgreSQL refuses it)."""
    unit = register("ADIPOSE")
    client = login("technician")
    form = {"stock": "tube", "format": "pdf", "copies": "1", "dpi": "203"}
    client.post(f"/labels/units/{unit.id}", data=form)

    response = client.post(f"/labels/units/{unit.id}", data={**form, "reason": reason})

    assert response.status_code == 422
    assert "control character" in response.get_data(as_text=True)
    assert [e.action for e in entries()] == ["print_label"]
