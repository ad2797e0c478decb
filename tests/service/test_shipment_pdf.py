"""A shipment's manifest and packing list as PDFs: what they say, that the code's barcode
scans, that a long manifest flows onto further pages, and that no patient is named.

The shipment is built in memory (nothing saved): only the time zone comes from an app, a bare
Flask one, so no database is needed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pypdfium2
import pytest
from flask import Flask
from pyzbar import pyzbar

from lims.domain import identifiers
from lims.domain.shipments import CONDITIONS, make_code
from lims.models import Patient, Shipment, ShipmentItem, Site, Unit, User
from lims.services.station.shipment_pdf import manifest_pdf, packing_list_pdf

PATIENT = "Zephyrine Quackenbush-Oyelaran"
CODE = make_code("C0001", 2026, 7)
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def zone():
    app = Flask("shipment_pdf_test")
    app.config["TIMEZONE"] = "Europe/Berlin"
    with app.app_context():
        yield


def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each page, white space folded to single spaces."""
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [
            re.sub(r"\s+", " ", document[i].get_textpage().get_text_range()).strip()
            for i in range(len(document))
        ]
    finally:
        document.close()


def pdf_text(pdf: bytes) -> str:
    return " ".join(pdf_pages(pdf))


def first_page_codes(pdf: bytes, dpi: int = 300) -> set[str]:
    """Every Code 128 zbar reads on the top third of page 1, rendered at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()
    top = image.crop((0, 0, image.width, image.height // 3))
    found = pyzbar.decode(top, symbols=[pyzbar.ZBarSymbol.CODE128])
    return {symbol.data.decode() for symbol in found}


def person(name: str) -> User:
    return User(username=name.split()[0].lower(), full_name=name, role="technician")


def site(code: str, name: str, address: str) -> Site:
    return Site(code=code, name=name, address=address, timezone="Europe/Berlin", kind="clinic")


def unit(number: int, patient: Patient) -> Unit:
    din = identifiers.make_din("T0001", 2026, number)
    return Unit(
        din=din,
        check_character=identifiers.check_character(din),
        product_code="S2010",
        division="0" + str(number % 10),
        unit_type="SVF",
        status="in_transit",
        volume_ml=12.5,
        expires_at=NOW + timedelta(hours=20),
        patient=patient,
    )


def shipment(count: int = 3, status: str = "dispatched") -> Shipment:
    patient = Patient(mrn="MRN-77", name=PATIENT, wristband="W1")
    items = [
        ShipmentItem(unit=unit(n, patient), on_manifest=True, outcome="packed")
        for n in range(1, count + 1)
    ]
    return Shipment(
        code=CODE,
        status=status,
        from_site=site("C0001", "Northgate Clinic", "12 Harbour Road\nKiel 24103"),
        to_site=site("T0001", "Lakeside Cell Laboratory", "Am See 4\n20095 Hamburg"),
        container="Credo Cube 4L",
        courier="MediCourier",
        tracking_number="MC-99812",
        condition="refrigerated",
        logger_id="LOG-4411",
        note="Handle upright",
        created_by=person("Ada Packer"),
        packed_by=person("Ada Packer"),
        checked_by=person("Ben Checker"),
        dispatched_at=None if status == "preparing" else NOW,
        expected_by=NOW + timedelta(hours=6),
        items=items,
    )


def dins(ship: Shipment) -> list[str]:
    return [item.unit.eye_readable for item in ship.items if item.unit is not None]


def test_the_manifest_says_what_travels_from_where_to_where():
    ship = shipment()
    text = pdf_text(manifest_pdf(ship, generated_at=NOW))
    for words in (
        "Shipment manifest",
        CODE,
        "Northgate Clinic",
        "Lakeside Cell Laboratory",
        "Facility identification number C0001",
        "12 Harbour Road",
        "Am See 4",
        "Credo Cube 4L",
        "MediCourier",
        "MC-99812",
        CONDITIONS["refrigerated"].label,
        CONDITIONS["refrigerated"].range_text,
        "LOG-4411",
        "Ada Packer",
        "Ben Checker",
        "Handle upright",
        "2026-05-04 11:30 CEST",  # dispatched, in the site's zone, named
        "Received ✓",
        "S2010 · 01",
        "Page 1 of 1",
        f"Shipment {CODE} · Shipment manifest · generated 2026-05-04 11:30 CEST",
        *dins(ship),
    ):
        assert words in text, words
    assert "DRAFT" not in text
    assert "Receipt" not in text
    assert PATIENT not in text and "MRN-77" not in text


def test_the_code_s_barcode_scans_as_the_code():
    ship = shipment()
    assert first_page_codes(manifest_pdf(ship)) == {CODE}
    assert first_page_codes(packing_list_pdf(ship)) == {CODE}


def test_a_shipment_being_packed_prints_as_a_draft():
    ship = shipment(status="preparing")
    manifest = pdf_text(manifest_pdf(ship))
    assert "DRAFT — not dispatched" in manifest
    assert "DRAFT" in pdf_text(packing_list_pdf(ship))
    # the watermark does not hide the barcode
    assert first_page_codes(manifest_pdf(ship)) == {CODE}


def test_a_long_manifest_flows_onto_pages_with_the_header_repeated():
    ship = shipment(150)
    pages = pdf_pages(manifest_pdf(ship))
    assert len(pages) > 1
    text = " ".join(pages)
    assert all(din in text for din in dins(ship))
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert CODE in page  # the footer
    # the table's header on every page the table reaches
    assert all("Product code · division" in page for page in pages)
    assert PATIENT not in text

    packing = pdf_pages(packing_list_pdf(ship))
    assert len(packing) > 1
    assert all(din in " ".join(packing) for din in dins(ship))


def test_the_packing_list_has_boxes_and_signature_lines():
    ship = shipment()
    text = pdf_text(packing_list_pdf(ship, generated_at=NOW))
    for words in (
        "Packing list",
        CODE,
        "Northgate Clinic",
        "Lakeside Cell Laboratory",
        CONDITIONS["refrigerated"].label,
        "Packed",
        "Checked",
        "Packed by",
        "Checked by",
        "Ada Packer",
        "Ben Checker",
        *dins(ship),
    ):
        assert words in text, words
    assert "DRAFT" not in text
    assert PATIENT not in text


def test_a_received_shipment_says_what_was_found():
    ship = shipment(3, status="received")
    ship.received_by = person("Cleo Receiver")
    ship.received_at = NOW + timedelta(hours=5)
    ship.arrival_temperature_c = 11.5
    ship.receipt_note = "Lid cracked"
    first, second, third = ship.items
    first.outcome, second.outcome, third.outcome = "accepted", "missing", "damaged"
    ship.items.append(
        ShipmentItem(scanned="=Z999926000001", on_manifest=False, outcome="unexpected")
    )
    text = pdf_text(manifest_pdf(ship))
    for words in (
        "Receipt",
        "Cleo Receiver",
        "2026-05-04 16:30 CEST",
        "11.5 °C",
        "OUTSIDE",
        "Lid cracked",
        "3 on the manifest: 1 accepted, 1 missing, 1 damaged; 1 unexpected.",
        "accepted",
        "MISSING",
        "DAMAGED",
        "UNEXPECTED",
        "=Z999926000001",
    ):
        assert words in text, words
    # the unexpected item is not one of the manifest's rows
    assert "Units on the manifest (3)" in text
