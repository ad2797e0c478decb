"""Adverse reactions in the browser (decision 113): the clinician reports from the unit page of a
product given, QA finds it first in the list, adds a note, signs the close, and downloads the
report; a bad form is a 4xx with the message beside its field and nothing saved."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import AdverseReaction
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages; rules in tests/service)
from tests.service.lab import PASSWORD, walk
from tests.service.test_shipment_pdf import pdf_text

from .conftest import text_of


@pytest.fixture
def given(register, users):
    product = walk(register("ADIPOSE"), "administered", users)
    db.session.commit()
    return product


def count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AdverseReaction))


def report_form(given, **overrides) -> dict:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from flask import current_app

    local = datetime.now(UTC).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return {
        "onset_at": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "severity": "moderate",
        "relation": "probable",
        "description": "Swelling and itching at the injection sites",
        "patient_id": str(given.patient_id),
        **overrides,
    }


@pytest.mark.req("T-9")
def test_a_clinician_reports_and_qa_investigates_closes_and_downloads(login, client, given):
    page = login("clinician").get(f"/patients/{given.patient_id}")
    assert f'href="/units/{given.id}/adverse-reactions/new"' in page.get_data(as_text=True)
    page = client.get(f"/units/{given.id}")
    assert f'href="/units/{given.id}/adverse-reactions/new"' in page.get_data(as_text=True)

    sent = client.post(f"/units/{given.id}/adverse-reactions/new", data=report_form(given))

    assert sent.status_code == 302, text_of(sent)[:400]
    reaction_id = db.session.scalar(select(func.max(AdverseReaction.id)))
    assert sent.location.endswith(f"/audit/adverse-reactions/{reaction_id}")
    shown = text_of(client.get(sent.location))
    assert "QA has been told" in shown and "Swelling and itching" in shown
    assert "Add note" not in shown  # only QA investigates
    patient_page = client.get(f"/patients/{given.patient_id}").get_data(as_text=True)
    assert f'data-reaction="{reaction_id}"' in patient_page
    client.post("/logout")

    login("qa")
    listed = text_of(client.get("/audit/adverse-reactions?status=open"))
    assert f"#{reaction_id} moderate" in listed
    url = f"/audit/adverse-reactions/{reaction_id}"
    assert client.post(f"{url}/investigation", data={"note": "Lot reviewed"}).status_code == 302
    wrong = {"outcome": "Local reaction", "password": "x", "meaning": "reviewed"}
    refused = client.post(f"{url}/close", data=wrong)
    assert refused.status_code == 422
    assert re.search(r'id="password-error-1">wrong password<', refused.get_data(as_text=True))
    closed = client.post(
        f"{url}/close",
        data={"outcome": "Local reaction, resolved", "password": PASSWORD, "meaning": "reviewed"},
    )
    assert closed.status_code == 302
    shown = text_of(client.get(url))
    assert "Lot reviewed" in shown and "Signed by Test Qa" in shown and "Add note" not in shown
    assert client.get(f"{url}/close").status_code == 409  # read-only now
    pdf = client.get(f"{url}/report.pdf")
    assert pdf.mimetype == "application/pdf" and "Local reaction, resolved" in pdf_text(pdf.data)


def test_a_bad_report_is_422_beside_its_field_and_saves_nothing(login, given):
    client = login("clinician")
    before = count()

    response = client.post(
        f"/units/{given.id}/adverse-reactions/new", data=report_form(given, severity="")
    )

    assert response.status_code == 422
    assert re.search(r'id="severity-error-1">', response.get_data(as_text=True))
    assert count() == before


def test_a_product_not_given_offers_no_report(login, register):
    unit = register("ADIPOSE")
    client = login("clinician")

    assert "adverse-reactions/new" not in client.get(f"/units/{unit.id}").get_data(as_text=True)
    refused = client.get(f"/units/{unit.id}/adverse-reactions/new")
    assert refused.status_code == 409 and "Not given to the patient" in text_of(refused)
