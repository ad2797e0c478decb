"""Labels through the API: every template in every format, decoded by real decoders."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.models import LedgerEntry
from lims.services.custody import ledger
from lims.services.station import labels
from tests.backends import backend  # noqa: F401  (SQLite alone: what a label carries, decoded)

from .conftest import (
    linear_codes,
    matrix_codes,
    page_sizes,
    pdf_image,
    pdf_text,
    svg_image,
    svg_text,
    zpl_text,
)

KINDS = ("source_tube", "product_bag", "wristband", "location")


def entries(action: str | None = None) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.action.in_(["print_label", "reprint_label"]))
    return list(db.session.scalars(stmt.order_by(LedgerEntry.seq)))


@pytest.mark.parametrize("kind", KINDS)
def test_svg_preview_decodes_to_the_barcode_data_and_is_not_recorded(client, token, subject, kind):
    path, data = subject(kind)

    response = client.get(f"{path}?format=svg", headers=token("technician"))

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/svg+xml"
    assert data in linear_codes(svg_image(response.data))
    assert entries() == []


@pytest.mark.req("T-7", "F-1", "F-2")
@pytest.mark.parametrize("kind", KINDS)
def test_pdf_sheet_decodes_to_the_barcode_data_and_is_recorded(client, token, subject, kind):
    path, data = subject(kind)

    response = client.get(f"{path}?format=pdf&copies=2", headers=token("technician"))

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.data.startswith(b"%PDF")
    assert data in linear_codes(pdf_image(response.data))
    (entry,) = entries()
    assert entry.action == "print_label"
    assert json.loads(entry.data)["template"] == kind
    assert json.loads(entry.data)["copies"] == 2


@pytest.mark.parametrize(
    ("query", "size", "pages"),
    [
        ("format=pdf", (100.0, 100.0), 1),  # one copy: the bag's own page
        ("format=pdf&copies=2&page=label", (100.0, 100.0), 2),
        ("format=pdf&page=a4", (210.0, 297.0), 1),
        ("format=pdf&copies=2", (215.9, 279.4), 1),  # more copies: a Letter sheet
    ],
)
def test_a_bag_label_pdf_comes_on_the_page_asked_for(client, token, product, query, size, pages):
    unit = product()

    response = client.get(f"/api/v1/units/{unit.id}/label?{query}", headers=token("technician"))

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert page_sizes(response.data) == [pytest.approx(size, abs=0.01)] * pages
    assert unit.barcode_data in linear_codes(pdf_image(response.data, dpi=300))


@pytest.mark.req("I-2")
@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("kind", KINDS)
def test_zpl_holds_a_code128_field_with_exactly_the_data(client, token, subject, kind, dpi):
    path, data = subject(kind)

    response = client.get(f"{path}?format=zpl&dpi={dpi}&copies=3", headers=token("qa"))

    zpl = response.get_data(as_text=True)
    assert response.status_code == 200, zpl[:300]
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert f"^FD{data}^FS" in zpl
    assert zpl.index("^BCN") < zpl.index(f"^FD{data}^FS")
    assert (
        f"^PW{round(50.8 * dpi / 25.4) if kind != 'product_bag' else round(100 * dpi / 25.4)}"
        in zpl
    )
    assert "^PQ3" in zpl
    assert json.loads(entries()[0].data)["dpi"] == dpi


@pytest.mark.req("T-7", "I-4")
@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_product_bag_carries_product_code_and_a_data_matrix_naming_the_unit(
    client, token, product, fmt
):
    unit = product()
    response = client.get(f"/api/v1/units/{unit.id}/label?format={fmt}", headers=token("admin"))

    image = svg_image(response.data) if fmt == "svg" else pdf_image(response.data)
    product_code = f"=<{unit.product_code}{unit.division}"
    assert linear_codes(image) >= {unit.barcode_data, product_code}
    assert matrix_codes(image) == {unit.barcode_data + product_code}


@pytest.mark.req("T-4", "F-1")
def test_source_tube_says_what_the_issue_lists(client, token, register):
    unit = register("MARROW")
    svg = client.get(f"/api/v1/units/{unit.id}/label", headers=token("technician")).get_data(
        as_text=True
    )
    for text in (
        f"{unit.din[:5]} {unit.din[5:7]} {unit.din[7:]}<",
        f">{unit.check_character}</text>",
        "Bone marrow aspirate (heparin)",
        "UTC",
        unit.patient.name,
        unit.patient.mrn,
        "posterior iliac crest",
        "Anticoagulant: heparin",
        "FOR AUTOLOGOUS USE ONLY",
    ):
        assert text in svg


@pytest.mark.req("T-4", "T-7", "F-1")
def test_product_bag_says_what_the_issue_lists(client, token, product, app):
    unit = product()
    svg = client.get(f"/api/v1/units/{unit.id}/label", headers=token("qa")).get_data(as_text=True)
    for text in (
        f"Product {unit.product_code} Division {unit.division}",
        "Stromal vascular fraction",
        unit.patient.name,
        "born 1980-05-17",
        "Expires ",
        "2–8 °C",
        "cells",
        "FOR AUTOLOGOUS USE ONLY",
        "BIOHAZARD",
        app.config["FACILITY_NAME"],
    ):
        assert text in svg


@pytest.mark.req("T-10")
def test_the_bag_names_the_facility_and_its_address_and_the_tube_has_no_room_for_them(
    client, token, product, register, app
):
    bag, tube = product(), register("MARROW")
    facility = (app.config["FACILITY_NAME"], app.config["FACILITY_ADDRESS"])

    for unit, named in ((bag, True), (tube, False)):
        svg = client.get(f"/api/v1/units/{unit.id}/label", headers=token("qa")).data
        assert [part in svg_text(svg) for part in facility] == [named, named]


@pytest.mark.req("T-4", "T-11")
@pytest.mark.parametrize("kind", ["source_tube", "product_bag"])
@pytest.mark.parametrize(
    ("testing", "warned"), [("performed", False), ("not_performed", True), (None, True)]
)
def test_not_evaluated_for_infectious_substances_unless_donor_testing_was_performed(
    register, product, kind, testing, warned
):
    overrides = {} if testing is None else {"donor_testing": testing}  # None: not recorded
    unit = register("ADIPOSE", **overrides) if kind == "source_tube" else product(**overrides)

    label = labels.unit_label(unit)

    assert label.kind == kind
    assert (labels.NOT_EVALUATED in label.warnings) is warned
    assert label.warnings[0] == labels.AUTOLOGOUS


@pytest.mark.parametrize("fmt", ["svg", "pdf", "zpl"])
def test_a_tube_with_every_warning_and_a_long_name_still_fits(client, token, register, fmt):
    unit = register(
        "MARROW", donor_testing="not_performed", name="Maximiliane Featherstonehaugh-Lindqvist"
    )

    response = client.get(f"/api/v1/units/{unit.id}/label?format={fmt}", headers=token("qa"))

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    read = {"svg": svg_text, "pdf": pdf_text, "zpl": zpl_text}[fmt]
    assert "NOT EVALUATED FOR INFECTIOUS SUBSTANCES" in read(response.data)


@pytest.mark.req("F-2", "A11-2")
def test_a_reprint_needs_a_reason_and_is_recorded_as_a_reprint(client, token, register):
    unit = register("ADIPOSE")
    url = f"/api/v1/units/{unit.id}/label?format=pdf"
    assert client.get(url, headers=token("technician")).headers["X-Label-Action"] == "print_label"

    refused = client.get(url, headers=token("technician"))
    reprinted = client.get(f"{url}&reason=smudged", headers=token("technician"))

    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "reason_required"
    assert reprinted.headers["X-Label-Action"] == "reprint_label"
    first, second = entries()
    assert (first.action, second.action, second.reason) == (
        "print_label",
        "reprint_label",
        "smudged",
    )
    assert second.unit_id == unit.id and second.from_status == second.to_status == "collected"
    assert ledger.verify().intact


def test_another_template_of_the_same_patient_is_a_first_print(client, token, register, location):
    unit = register("ADIPOSE")
    headers = token("technician")
    client.get(f"/api/v1/patients/{unit.patient.id}/label?format=zpl", headers=headers)
    client.get(f"/api/v1/locations/{location.id}/label?format=zpl", headers=headers)
    client.get(f"/api/v1/units/{unit.id}/label?format=zpl", headers=headers)

    assert [e.action for e in entries()] == ["print_label"] * 3
    patient_entry = entries()[0]
    assert patient_entry.unit_id is None
    assert json.loads(patient_entry.data)["patient_id"] == unit.patient.id


@pytest.mark.parametrize("fmt", ["svg", "pdf", "zpl"])
def test_a_unit_in_a_final_status_gets_no_label(client, token, register, act, fmt):
    unit = register("ADIPOSE")
    act(unit, "discard", as_="technician")

    response = client.get(f"/api/v1/units/{unit.id}/label?format={fmt}", headers=token("qa"))

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "final_status"
    assert entries() == []


@pytest.mark.parametrize(
    ("target", "role"),
    [("unit", "clinician"), ("location", "clinician"), ("patient", "admin")],
)
def test_roles_that_may_not_print_are_refused(client, token, register, location, target, role):
    unit = register("ADIPOSE")
    ident = {"unit": unit.id, "patient": unit.patient.id, "location": location.id}[target]

    response = client.get(f"/api/v1/{target}s/{ident}/label?format=pdf", headers=token(role))

    assert response.status_code == 403
    assert entries() == []


@pytest.mark.parametrize(
    "params",
    [
        "format=png",
        "stock=a4",
        "copies=0",
        "copies=101",
        "copies=two",
        "format=pdf&page=a5",
        "dpi=600",
        "format=pdf&format=zpl",
        "colour=red",
        "reason=" + "x" * 501,
        "format=pdf&stock=tube",  # product bag content does not fit a tube label
    ],
)
def test_bad_parameters_are_422_and_print_nothing(client, token, product, params):
    unit = product()

    response = client.get(f"/api/v1/units/{unit.id}/label?{params}", headers=token("technician"))

    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert entries() == []


@pytest.mark.parametrize("target", ["units", "patients", "locations"])
def test_unknown_ids_are_404(client, token, target):
    response = client.get(f"/api/v1/{target}/999999/label", headers=token("technician"))

    assert response.status_code == 404


def test_without_libdmtx_a_bag_label_is_503_and_prints_nothing(client, token, product, monkeypatch):
    """A machine without Debian's libdmtx0b: a clear 503, no ledger entry, no 500."""
    import sys

    from lims.labels.symbols import datamatrix_rows

    datamatrix_rows.cache_clear()
    monkeypatch.setitem(sys.modules, "pylibdmtx", None)  # import now fails, as without libdmtx
    before = len(entries())
    response = client.get(
        f"/api/v1/units/{product().id}/label?format=pdf&stock=bag", headers=token("technician")
    )
    datamatrix_rows.cache_clear()
    assert response.status_code == 503
    assert "libdmtx0b" in response.get_json()["error"]["message"]
    assert len(entries()) == before
