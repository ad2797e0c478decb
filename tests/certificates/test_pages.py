"""The certificate in the browser: the unit page's panel with its downloads, the page of
every certificate with the chosen one in full, and the PDF downloads with their roles."""

from __future__ import annotations

import re

import pytest

from lims.services.actions import units
from tests.service.lab import qc_data

from .lab import INITIALS, PATIENT, collect, pdf_text, released


def test_the_unit_page_shows_the_certificate_panel(login, users):
    product = released(users)
    page = login("qa").get(f"/units/{product.id}").get_data(as_text=True)
    assert 'data-certificate="1"' in page and "Certificate of release" in page
    assert f'href="/units/{product.id}/certificate.pdf"' in page
    assert f'href="/units/{product.id}/certificate.pdf?copy=file"' in page
    assert f'href="/units/{product.id}/certificate"' in page


def test_an_admin_is_offered_the_travelling_copy_only(login, users):
    product = released(users)
    client = login("admin")
    page = client.get(f"/units/{product.id}").get_data(as_text=True)
    assert f'href="/units/{product.id}/certificate.pdf"' in page
    assert "copy=file" not in page
    assert client.get(f"/units/{product.id}/certificate.pdf?copy=file").status_code == 403


def test_a_unit_without_a_certificate_has_no_panel_and_says_so(login, users):
    waiting = collect(users)
    client = login("technician")
    assert "data-certificate=" not in client.get(f"/units/{waiting.id}").get_data(as_text=True)
    page = client.get(f"/units/{waiting.id}/certificate")
    assert page.status_code == 200 and 'id="no-certificate"' in page.get_data(as_text=True)
    assert client.get(f"/units/{waiting.id}/certificate.pdf").status_code == 409


def test_the_page_lists_every_certificate_and_shows_one_in_full(login, users):
    product = released(users, sterility="pending")
    units.perform_action(
        product.id, "record_qc", qc_data("sterility", "no growth"), users["technician"]
    )
    client = login("technician")
    page = client.get(f"/units/{product.id}/certificate").get_data(as_text=True)
    assert re.findall(r'<tr data-number="(\d+)"', page) == ["1", "2"]
    assert "Certificate 2, replaces certificate 1 of" in page
    assert "QC result after release: Sterility culture — no growth (pass)" in page
    assert INITIALS in page and PATIENT["mrn"] not in page
    assert "No data on this certificate was changed after first entry." in page
    first = client.get(f"/units/{product.id}/certificate?number=1").get_data(as_text=True)
    assert '<h2 id="cert-title">Certificate 1</h2>' in first
    assert client.get(f"/units/{product.id}/certificate?number=5").status_code == 404
    assert client.get(f"/units/{product.id}/certificate?number=zero").status_code == 422


@pytest.mark.parametrize("copy", ["travelling", "file"])
def test_the_pdf_downloads(login, users, copy):
    product = released(users)
    response = login("clinician").get(f"/units/{product.id}/certificate.pdf?copy={copy}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert product.eye_readable in text
    assert (PATIENT["mrn"] in text) is (copy == "file")


def test_another_clinicians_patient_is_no_unit(login, users, client):
    from lims.services.admin import accounts
    from tests.conftest import PASSWORD

    product = released(users)
    accounts.create_user("doctor9", "clinician", PASSWORD, full_name="Other Clinician")
    client.post("/login", data={"username": "doctor9", "password": PASSWORD})
    assert client.get(f"/units/{product.id}/certificate").status_code == 404
    assert client.get(f"/units/{product.id}/certificate.pdf").status_code == 404
