"""Helpers of the certificate tests: a product taken to QA's release through the services
(with a receipt deviation QA closed, when asked), its certificates as stored, and a PDF's
text read back with pdfium."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pypdfium2 as pdfium
from sqlalchemy import select

from lims.extensions import db
from lims.models import Deviation, LedgerEntry, ReleaseCertificate, Unit
from lims.services.actions import units
from lims.services.audit import deviations
from tests.conftest import PASSWORD
from tests.service.lab import data_for, qc_data, registration, required_tests, sign

PATIENT = {"mrn": "MRN-CERT-77", "name": "Zofia Wiśniewska-Kowal", "birth_date": "1979-03-14"}
INITIALS = "Z.W.K."


def collect(users, kind: str = "ADIPOSE", *, deviation: bool = False) -> Unit:
    """A collection received (outside acceptance, with a note, when ``deviation``) and
    processed: its product in quarantine."""
    source = units.register(registration(kind, patient=PATIENT), users["clinician"]).unit
    receipt = data_for("receive", kind)
    if deviation:
        receipt = {**receipt, "temperature_c": 12.0, "deviation_note": "cool pack had thawed"}
    tech = users["technician"]
    units.perform_action(source.id, "receive", receipt, tech)
    units.perform_action(source.id, "start_processing", data_for("start_processing", kind), tech)
    done = units.perform_action(
        source.id, "complete_processing", data_for("complete_processing", kind), tech
    )
    return done.products[0]


def record_qc(product: Unit, users, **values: Any) -> None:
    """Every required test, passing unless ``values`` says otherwise."""
    for test in required_tests(product.unit_type):
        data = qc_data(test, values.get(test))
        units.perform_action(product.id, "record_qc", data, users["technician"])


def close_open_deviations(product: Unit, users) -> None:
    ids = [u.id for u in product.lineage()]
    for deviation in db.session.scalars(
        select(Deviation).where(Deviation.unit_id.in_(ids), Deviation.closed_at.is_(None))
    ):
        deviations.close(
            deviation.id,
            {
                "decision": "accepted_no_impact",
                "note": "temperature excursion under 2 h; cells viable",
                "password": PASSWORD,
                "meaning": "reviewed",
            },
            users["qa"],
        )


def release(product: Unit, users) -> units.ActionResult:
    return units.perform_action(product.id, "release", sign(), users["qa"])


def released(users, kind: str = "ADIPOSE", *, deviation: bool = False, **values: Any) -> Unit:
    product = collect(users, kind, deviation=deviation)
    record_qc(product, users, **values)
    if deviation:
        close_open_deviations(product, users)
    release(product, users)
    return product


def certificates(unit_id: int) -> list[ReleaseCertificate]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReleaseCertificate)
            .where(ReleaseCertificate.unit_id == unit_id)
            .order_by(ReleaseCertificate.number)
        )
    )


def content_of(row: ReleaseCertificate) -> dict[str, Any]:
    return json.loads(row.content)


def ledger_data(row: ReleaseCertificate) -> dict[str, Any]:
    entry = db.session.get(LedgerEntry, row.ledger_entry_id)
    assert entry is not None and entry.action == "certificate_issued"
    return json.loads(entry.data)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pdf_pages(body: bytes) -> list[str]:
    """The text of each page, white space folded to single spaces."""
    assert body.startswith(b"%PDF-"), body[:40]
    document = pdfium.PdfDocument(body)
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            text = page.get_textpage().get_text_range()
            pages.append(re.sub(r"\s+", " ", text.replace("\ufffe", "")).strip())
        return pages
    finally:
        document.close()


def pdf_text(body: bytes) -> str:
    return " ".join(pdf_pages(body))
