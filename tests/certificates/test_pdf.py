"""The certificate's PDF read back (pdfium's text): every field the certificate must carry is
printed, the travelling copy names no MRN and no full name, the file copy names both, and a
reissued certificate names the one it replaces."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lims.domain import certificates as words
from lims.domain import qc as qc_domain
from lims.extensions import db
from lims.models import QcResult
from lims.services.actions import units
from lims.services.audit import certificate, certificate_pdf
from tests.service.lab import qc_data

from .lab import INITIALS, PATIENT, certificates, collect, pdf_pages, pdf_text, record_qc, release


def _product_with_everything(users):
    """Received outside acceptance (a deviation QA closed), processed on the bench's
    equipment and lots, QC with a correction, released."""
    from .lab import close_open_deviations

    product = collect(users, deviation=True)
    record_qc(product, users)
    viability = db.session.scalar(
        select(QcResult).where(QcResult.unit_id == product.id, QcResult.test == "viability")
    )
    units.perform_action(
        product.id,
        "record_qc",
        qc_data("viability", 91.0, corrects=viability.id, reason="transcription error"),
        users["technician2"],
    )
    close_open_deviations(product, users)
    release(product, users)
    return product


@pytest.mark.req("T-4", "T-5", "T-10", "A11-1", "P11-8")
def test_the_travelling_copy_prints_every_field_and_no_mrn_or_name(app, users):
    product = _product_with_everything(users)
    cert = certificate.read(users["qa"], product.id)
    content = cert.content
    body = certificate_pdf.render_pdf(cert)
    pages = pdf_pages(body)
    text = " ".join(pages)

    expected = [
        "TRAVELLING COPY",
        words.TITLE,
        # facility
        app.config["FACILITY_NAME"],
        app.config["FACILITY_ADDRESS"],
        # identity: DIN with check character, product code, division, initials, birth date
        product.eye_readable,
        "S2010",
        "Division 00",
        "Stromal vascular fraction, adipose",
        INITIALS,
        PATIENT["birth_date"],
        # the certificate, its digest, the ledger check
        "Certificate 1",
        cert.row.sha256,
        f"ledger entry #{cert.ledger_seq}",
        # collection and processing: protocol, steps with operators, equipment and lots
        "abdomen",
        "Test Clinician",
        "Adipose → SVF (enzymatic digestion)",
        "Collagenase digestion, 37 °C",
        "Test Technician",
        "Release",
        "Status at issue released",
        "Store at 2–8 °C",
        "Transport at 2–8 °C",
        "24 h after end of processing",
        # deviations and how they were closed
        "Accepted at receipt outside acceptance",
        "accepted — no impact",
        "temperature excursion under 2 h; cells viable",
        # Annex 11 §8.2
        "Changes after first entry",
        "transcription error",
        words.changes_statement(1),
        # autologous statements
        *words.STATEMENTS,
    ]
    for e in content["equipment"]:
        expected += [e["code"], e["calibration_valid_until"]]
    for lot in content["reagent_lots"]:
        expected += [lot["code"], lot["lot_number"], lot["expires_on"]]
    for r in content["qc"]:
        expected += [
            f"#{r['result_id']} {r['name']}",
            r["value"],
            f"{r['specification']} (version {r['spec_version']})",
            r["verdict"].upper(),
        ]
    for s in content["signatures"]:
        expected += [s["printed_name"], s["meaning"], s["manifestation"]]
    expected.append(content["expiry"]["utc"][:16].replace("T", " ") + " UTC")
    missing = [item for item in expected if item not in text]
    assert missing == []
    # every required test is there, with its specification's version
    tests = {qc_domain.TESTS[t].name for t in (r["test"] for r in content["qc"])}
    assert {"Viability", "Sterility culture", "Endotoxin", "Gram stain"} <= tests
    # the signatures: QA's release and QA's closing of the deviation, both manifested
    assert {s["action"] for s in content["signatures"]} == {"release", "close_deviation"}
    # nothing that names the patient in full
    for secret in (PATIENT["mrn"], PATIENT["name"], "Zofia", "Kowal"):
        assert secret not in text
    assert "MRN" not in text
    # page n of m on every page
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_the_file_copy_adds_the_name_and_mrn(users):
    product = collect(users)
    record_qc(product, users)
    release(product, users)
    cert = certificate.read(users["clinician"], product.id, copy=words.FILE)
    text = pdf_text(certificate_pdf.render_pdf(cert))
    for item in (
        "FILE COPY",
        PATIENT["name"],
        PATIENT["mrn"],
        product.patient.wristband,
        INITIALS,
        cert.row.sha256,  # the same content, the same digest
    ):
        assert item in text
    assert cert.row.sha256 == certificate.read(users["qa"], product.id).row.sha256


def test_a_reissued_certificate_names_the_one_it_replaces(users):
    product = collect(users)
    record_qc(product, users, sterility="pending")
    release(product, users)
    units.perform_action(
        product.id, "record_qc", qc_data("sterility", "no growth"), users["technician"]
    )
    one, two = certificates(product.id)
    issued_one = json.loads(one.content)["certificate"]["issued_at"][:16].replace("T", " ")
    text = pdf_text(certificate_pdf.render_pdf(certificate.read(users["qa"], product.id)))
    assert f"Certificate 2, replaces certificate 1 of {issued_one} UTC" in text
    assert "QC result after release: Sterility culture — no growth (pass)" in text
    assert f"SHA-256 of certificate 1: {one.sha256}" in text
    assert two.sha256 in text
    # the first one prints as it was: pending, and no word of its replacement
    first = pdf_text(certificate_pdf.render_pdf(certificate.read(users["qa"], product.id, 1)))
    assert "Certificate 1" in first and "replaces" not in first
    assert "Pending at release: Sterility culture" in first
    assert "no growth (version 1)" in first  # the specification, not a result
