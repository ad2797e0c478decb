"""``GET /api/v1/units/<id>/certificate``: the JSON as documented, the PDF by ``?format=pdf``
or ``Accept``, an earlier certificate by number, the file copy for its roles, and each
refusal in the one error shape."""

from __future__ import annotations

import pytest

from lims.services.actions import units
from lims.services.admin import accounts
from tests.api.helpers import assert_error
from tests.api.test_api_openapi import conforms
from tests.conftest import PASSWORD
from tests.service.lab import qc_data

from .lab import INITIALS, PATIENT, collect, pdf_text, record_qc, released, sha256

PATH = "/api/v1/units/{unit_id}/certificate"


def _documented(doc, status: int, media: str = "application/json") -> dict:
    answer = doc["paths"][PATH]["get"]["responses"][str(status)]
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].split("/")[-1]]
    return answer["content"][media]["schema"]


def _json(doc, response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data()[:400]
    conforms(response.get_json(), _documented(doc, status), doc, PATH)
    return response.get_json()


@pytest.mark.req("T-5", "T-10", "A11-1")
def test_the_current_certificate_as_json(api, doc, users, app):
    product = released(users)
    body = _json(doc, api.get(f"/units/{product.id}/certificate"))
    assert (body["unit_id"], body["number"], body["numbers"], body["copy"]) == (
        product.id,
        1,
        [1],
        "travelling",
    )
    assert body["replaces"] is None and body["patient"] is None
    assert body["intact"] is True and body["ledger_seq"] > 0
    assert body["reason"] == "released" and body["issued_by"] == "Test Qa"
    content = body["content"]
    assert content["facility"]["address"] == app.config["FACILITY_ADDRESS"]
    assert content["patient"] == {"initials": INITIALS, "birth_date": PATIENT["birth_date"]}
    assert (
        content["changes_statement"] == "No data on this certificate was changed after first entry."
    )
    from lims.domain.ledger_chain import canonical_json

    assert sha256(canonical_json(content)) == body["sha256"]
    assert PATIENT["mrn"] not in str(body) and PATIENT["name"] not in str(body)


def _accepting(api, path: str, accept: str):
    headers = {**api.headers("technician"), "Accept": accept}
    return api.client.get(f"/api/v1{path}", headers=headers)


def test_the_pdf_by_format_and_by_accept(api, users):
    product = released(users)
    by_format = api.get(f"/units/{product.id}/certificate?format=pdf")
    by_accept = _accepting(api, f"/units/{product.id}/certificate", "application/pdf")
    for response in (by_format, by_accept):
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        din = product.eye_readable.replace(" ", "")
        assert f'filename="certificate-{din}-S2010-00-1.pdf"' in disposition
        assert product.eye_readable in pdf_text(response.data)
        assert "Accept" in response.vary
    # ?format= decides over Accept; JSON unless the PDF is preferred
    assert _accepting(
        api, f"/units/{product.id}/certificate?format=json", "application/pdf"
    ).is_json
    assert _accepting(api, f"/units/{product.id}/certificate", "application/json, */*").is_json
    assert _accepting(api, f"/units/{product.id}/certificate", "*/*").is_json


def test_an_earlier_certificate_by_number_and_the_reissue(api, doc, users):
    product = released(users, sterility="pending")
    units.perform_action(
        product.id, "record_qc", qc_data("sterility", "no growth"), users["technician"]
    )
    current = _json(doc, api.get(f"/units/{product.id}/certificate"))
    first = _json(doc, api.get(f"/units/{product.id}/certificate?number=1"))
    assert current["number"] == 2 and current["numbers"] == [1, 2]
    assert current["replaces"] == {
        "number": 1,
        "issued_at": first["content"]["certificate"]["issued_at"],
        "sha256": first["sha256"],
    }
    assert current["reason"].startswith("QC result after release: Sterility culture")
    assert first["number"] == 1 and first["replaces"] is None
    pdf = api.get(f"/units/{product.id}/certificate?number=1&format=pdf")
    assert "Certificate 1" in pdf_text(pdf.data)
    assert pdf.headers["Content-Disposition"].endswith('-1.pdf"')


@pytest.mark.parametrize("role", ["qa", "technician", "clinician"])
def test_the_file_copy_for_its_roles(api, doc, users, role):
    product = released(users)
    body = _json(doc, api.get(f"/units/{product.id}/certificate?copy=file", as_=role))
    assert body["copy"] == "file"
    assert body["patient"] == {
        "name": PATIENT["name"],
        "mrn": PATIENT["mrn"],
        "wristband": product.patient.wristband,
    }
    pdf = api.get(f"/units/{product.id}/certificate?copy=file&format=pdf", as_=role)
    assert PATIENT["mrn"] in pdf_text(pdf.data)
    assert pdf.headers["Content-Disposition"].endswith('-1-file-copy.pdf"')


def test_an_admin_gets_the_travelling_copy_only(api, users):
    product = released(users)
    assert api.get(f"/units/{product.id}/certificate", as_="admin").status_code == 200
    assert_error(api.get(f"/units/{product.id}/certificate?copy=file", as_="admin"), 403)


def test_refusals(api, doc, users, client):
    product = released(users)
    waiting = collect(users)
    record_qc(waiting, users)
    error = assert_error(api.get(f"/units/{waiting.id}/certificate"), 409, "no_certificate")
    assert "no certificate of release" in error["message"]
    conforms(api.get(f"/units/{waiting.id}/certificate").get_json(), _documented(doc, 409), doc)
    assert_error(api.get(f"/units/{product.id}/certificate?number=2"), 404, "unknown_certificate")
    assert_error(api.get("/units/2147483000/certificate"), 404)
    assert_error(api.get("/units/99999999999/certificate"), 404)  # beyond any id
    for bad in ("number=0", "number=-1", "number=x", "copy=mine", "format=docx", "colour=red"):
        assert_error(api.get(f"/units/{product.id}/certificate?{bad}"), 422)
    assert_error(api.get(f"/units/{product.id}/certificate", as_=None), 401)
    # a clinician not named on the patient sees no such unit, word for word
    accounts.create_user("doctor9", "clinician", PASSWORD, full_name="Other Clinician")
    token = client.post(
        "/api/v1/tokens", json={"username": "doctor9", "password": PASSWORD}
    ).get_json()["token"]
    response = client.get(
        f"/api/v1/units/{product.id}/certificate", headers={"Authorization": f"Bearer {token}"}
    )
    assert assert_error(response, 404)["message"] == f"no unit with id {product.id}"


def test_a_release_through_the_api_answers_with_the_certificate_entry(api, users):
    product = collect(users)
    record_qc(product, users)
    version = api.get(f"/units/{product.id}").get_json()["version"]
    response = api.post(
        f"/units/{product.id}/actions",
        {
            "action": "release",
            "password": PASSWORD,
            "meaning": "approved for release",
            "version": version,
        },
        as_="qa",
    )
    assert response.status_code == 200, response.get_json()
    entries = response.get_json()["entries"]
    assert [e["action"] for e in entries] == ["release", "certificate_issued"]
    certificate = api.get(f"/units/{product.id}/certificate").get_json()
    assert entries[-1]["data"]["sha256"] == certificate["sha256"]
    assert entries[-1]["data"]["number"] == 1
