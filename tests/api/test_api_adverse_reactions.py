"""Adverse reactions over the API (decision 113): a clinician's report on a product given,
QA's list, a note, a wrong password counted by the signing throttle, the signed close, the
collection's reactions and the report PDF. The rules themselves are tested on both backends
in tests/service/test_adverse_reactions.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lims.extensions import db
from tests.backends import backend  # noqa: F401  (SQLite alone: the API's shapes; rules in tests/service)
from tests.service.lab import PASSWORD, walk
from tests.service.test_shipment_pdf import pdf_text

from .helpers import assert_error


@pytest.fixture
def given(register, users):
    product = walk(register("ADIPOSE"), "administered", users)
    db.session.commit()
    return product


def body(**overrides) -> dict:
    return {
        "onset_at": datetime.now(UTC).isoformat(),
        "description": "Erythema at the injection sites",
        "severity": "severe",
        "relation": "possible",
        **overrides,
    }


@pytest.mark.req("T-9")
def test_report_list_note_and_a_paused_signer_over_the_api(api, app, given):
    app.config["SIGNING_THROTTLE"] = "2 per minute"
    made = api.post(f"/units/{given.id}/adverse-reactions", body(), as_="clinician")
    assert made.status_code == 201, made.get_json()
    reaction = made.get_json()
    assert made.headers["Location"].endswith(f"/adverse-reactions/{reaction['id']}")
    assert (reaction["status"], reaction["product"]["din"], reaction["patient"]["mrn"]) == (
        "open",
        given.din,
        "MRN-1",
    )
    again = api.post(f"/units/{given.id}/adverse-reactions", body(), as_="clinician")
    assert again.status_code == 201  # another onset time: another reaction
    listed = api.get("/adverse-reactions?status=open&severity=severe", as_="qa").get_json()
    assert listed["open_count"] == 2 and len(listed["items"]) == 2
    assert_error(api.get("/adverse-reactions?severity=awful", as_="qa"), 422)

    url = f"/adverse-reactions/{reaction['id']}"
    noted = api.post(f"{url}/investigation", {"note": "Lot records reviewed"}, as_="qa")
    assert [n["text"] for n in noted.get_json()["investigation"]] == ["Lot records reviewed"]
    wrong = {"outcome": "Injection-site reaction", "password": "guess", "meaning": "reviewed"}
    assert_error(api.post(f"{url}/close", wrong, as_="qa"), 422, "wrong_password")
    assert_error(api.post(f"{url}/close", wrong, as_="qa"), 422, "wrong_password")
    paused = api.post(f"{url}/close", {**wrong, "password": PASSWORD}, as_="qa")
    assert paused.status_code == 429  # the budget is spent: not even the right one is tried
    assert api.get(url, as_="qa").get_json()["status"] == "open"


def test_the_signed_close_and_the_report(api, given):
    made = api.post(f"/units/{given.id}/adverse-reactions", body(), as_="clinician").get_json()
    url = f"/adverse-reactions/{made['id']}"
    close = {"outcome": "Injection-site reaction", "password": PASSWORD, "meaning": "reviewed"}

    closed = api.post(f"{url}/close", close, as_="qa")

    assert closed.status_code == 200, closed.get_json()
    signed = closed.get_json()
    assert signed["status"] == "closed" and signed["signature"]["intact"] is True
    assert signed["signature"]["meaning"] == "reviewed"
    assert_error(api.post(f"{url}/close", close, as_="qa"), 409, "already_closed")
    assert_error(api.post(f"{url}/investigation", {"note": "late"}, as_="qa"), 409)
    lot = api.get(f"/units/{given.parent_id}/adverse-reactions", as_="clinician").get_json()
    assert [r["id"] for r in lot["items"]] == [made["id"]]
    pdf = api.get(f"{url}/report", as_="qa")
    assert pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Injection-site reaction" in text and "MRN-1" in text and "Pat Example" not in text


def test_refusals_are_clear_4xx(api, given, register):
    fresh = register("ADIPOSE")
    assert_error(
        api.post(f"/units/{fresh.id}/adverse-reactions", body(), as_="clinician"),
        409,
        "not_administered",
    )
    assert_error(
        api.post(
            f"/units/{given.id}/adverse-reactions",
            body(patient_id=given.patient_id + 1),
            as_="clinician",
        ),
        422,
        "other_patients_product",
    )
    assert_error(api.post("/units/999999/adverse-reactions", body(), as_="clinician"), 404)
    assert_error(api.get("/adverse-reactions/999999", as_="qa"), 404, "unknown_reaction")
