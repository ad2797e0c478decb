"""The release queue: each product with its QC against spec at a glance, its processing
record and deviations, whether it is ready; QA only; soonest expiry first; identity alerts."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lims.services.actions import units
from lims.services.station import scan
from tests.backends import backend  # noqa: F401  (SQLite alone: the release queue page; release is tested on both in service/test_release_rules)
from tests.service.lab import qc_data
from tests.web.conftest import text_of


def record_qc(unit, users, test, value=None):
    units.perform_action(unit.id, "record_qc", qc_data(test, value), users["technician"])


def card_of(response, unit) -> str:
    """The HTML of one product's card."""
    html = response.get_data(as_text=True)
    match = re.search(rf'<article[^>]*data-unit="{unit.id}".*?</article>', html, flags=re.S)
    assert match, f"no card for unit {unit.id}"
    return match.group(0)


def words(card: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", card)).split())


def states(card: str) -> dict[str, str]:
    return dict(re.findall(r'data-test="(\w+)" data-state="(\w+)"', card))


def test_the_queue_shows_qc_at_a_glance_processing_and_what_stops_release(
    login, product_in_quarantine, users
):
    product = product_in_quarantine("ADIPOSE")
    record_qc(product, users, "viability", 85.0)
    record_qc(product, users, "endotoxin", 0.9)  # out of spec: opens a deviation
    record_qc(product, users, "sterility", "pending")

    response = login("qa").get("/release")

    assert response.status_code == 200
    card = card_of(response, product)
    assert states(card) == {
        "viable_cell_count": "missing",
        "viability": "pass",
        "gram_stain": "missing",
        "sterility": "pending",
        "endotoxin": "fail",
    }
    text = words(card)
    assert "85 % · in spec (spec ≥ 70 %)" in text
    assert "0.9 EU/mL · out of spec (spec < 0.5 EU/mL)" in text
    assert "no result" in text and "pending (may be released, flagged)" in text
    assert "6 of 6 required steps recorded" in text and "by Test Technician" in text
    assert "1 open deviation" in text and "decide" in text
    assert "Not ready:" in text and "out of specification: endotoxin" in text
    assert "no result for viable cell count, gram stain" in text
    assert "Ready to release" not in text
    assert "Pat Example" in text and product.product_code in text
    assert f"/units/{product.id}/actions/exceptional_release" in card
    assert f'href="/units/{product.id}"' in card


def test_a_product_in_spec_is_ready_and_a_pending_sterility_is_flagged(
    login, product_in_quarantine, users
):
    product = product_in_quarantine("ADIPOSE")
    for test in ("viable_cell_count", "viability", "gram_stain", "endotoxin"):
        record_qc(product, users, test)
    record_qc(product, users, "sterility", "pending")

    response = login("qa").get("/release")

    card = card_of(response, product)
    text = words(card)
    assert "Ready to release" in text and "Not ready" not in text
    assert "sterility culture still pending: the release will be flagged" in text
    assert "Deviations none" in text
    release = f'href="/units/{product.id}/actions/release?next=/release"'
    assert f'class="btn primary big" {release}' in card


@pytest.mark.parametrize("role", ["technician", "clinician", "admin"])
def test_only_qa_opens_the_queue(login, product_in_quarantine, role):
    product_in_quarantine("ADIPOSE")
    assert login(role).get("/release").status_code == 403


def test_soonest_expiry_comes_first(login, product_in_quarantine):
    svf = product_in_quarantine("ADIPOSE")  # usable 24 h
    prp = product_in_quarantine("BLOOD", mrn="MRN-2", name="Second Patient")  # usable 4 h
    assert prp.expires_at < svf.expires_at

    response = login("qa").get("/release")

    order = re.findall(r'<article[^>]*data-unit="(\d+)"', response.get_data(as_text=True))
    assert [int(i) for i in order] == [prp.id, svf.id]
    assert re.search(r"Expiry [34] h \d\d min left", words(card_of(response, prp)))
    assert re.search(r"Expiry 2[34] h \d\d min left", words(card_of(response, svf)))


def test_a_released_product_leaves_the_queue(login, product_in_quarantine, users):
    product = product_in_quarantine("BLOOD")
    for test in ("platelet_count", "gram_stain", "sterility"):
        record_qc(product, users, test)
    units.perform_action(
        product.id,
        "release",
        {"password": "test-pass-1234", "meaning": "approved for release"},
        users["qa"],
    )

    html = login("qa").get("/release").get_data(as_text=True)

    assert f'data-unit="{product.id}"' not in html
    assert "No product is waiting for release." in html


def test_identity_alerts_list_recent_wristband_mismatches(login, product_in_quarantine, users):
    product = product_in_quarantine("ADIPOSE")
    other = product_in_quarantine("MARROW", mrn="MRN-2", name="Other Person")
    scan.check_identity(product.patient.wristband, product.barcode_data, users["technician"])
    scan.check_identity(other.patient.wristband, product.barcode_data, users["clinician"])

    text = text_of(login("qa").get("/release"))

    assert text.count("Wristband mismatch") == 1
    assert f"wristband {other.patient.wristband} belongs to Other Person" in text
    assert "scanned by Test Clinician" in text


def test_identity_alerts_older_than_seven_days_drop_off(login, product_in_quarantine, users):
    product = product_in_quarantine("ADIPOSE")
    other = product_in_quarantine("MARROW", mrn="MRN-2", name="Other Person")
    scan.check_identity(other.patient.wristband, product.barcode_data, users["clinician"])

    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        text = text_of(login("qa").get("/release"))

    assert "Wristband mismatch" not in text
    assert "No wristband mismatch recorded in the last 7 days." in text
