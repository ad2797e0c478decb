"""FHIR R4 under /fhir: every resource valid for ``fhir.resources`` (R4B's models, which R4's
resources here agree with), the identifiers and mappings of docs/fhir.md, OperationOutcomes for
every refusal, and the API's object-level rules (SQLite: the reads' queries are those of
``test_fhir_search``, which runs on both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.biologicallyderivedproduct import BiologicallyDerivedProduct
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.specimen import Specimen

from lims.extensions import db
from lims.models import Unit
from lims.services.fhir import resources
from tests.backends import backend  # noqa: F401  (SQLite alone: the searches run on both)
from tests.conftest import registration
from tests.service.lab import walk

MODELS = {
    "Patient": Patient,
    "Specimen": Specimen,
    "BiologicallyDerivedProduct": BiologicallyDerivedProduct,
    "Procedure": Procedure,
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "OperationOutcome": OperationOutcome,
}
R5 = resources.R5_BDP


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """The resource, after ``fhir.resources`` parsed it (which raises on anything invalid),
    every Bundle entry too."""
    MODELS[body["resourceType"]].model_validate(body)
    for entry in body.get("entry", []):
        valid(entry["resource"])
    return body


def fhir_get(client, path: str, headers: dict[str, str] | None = None, status: int = 200):
    response = client.get(f"/fhir{path}", headers=headers or {})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/fhir+json"
    return valid(response.get_json())


def refused(client, path: str, headers: dict[str, str] | None, status: int) -> str:
    body = fhir_get(client, path, headers, status)
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["severity"] == "error" and issue["diagnostics"]
    return issue["code"]


def ext(resource: dict[str, Any], url: str) -> dict[str, Any]:
    (found,) = [e for e in resource["extension"] if e["url"] == url]
    return found


@pytest.fixture
def given(users):
    """A PRP administered to its patient (a blood collection, its product)."""
    from lims.services.actions import units

    data = registration("BLOOD", mrn="MRN-77", name="Ada Given")
    source = units.register(data, users["clinician"]).unit
    source_id = source.id
    product = walk(source, "administered", users)
    return source_id, product.id, product.patient_id


def test_each_resource_is_valid_r4_and_says_what_the_lab_recorded(client, token, given):
    source_id, product_id, patient_id = given
    tech = token("technician")

    patient = fhir_get(client, f"/Patient/{patient_id}", tech)
    mrn, band = patient["identifier"]
    assert (mrn["system"], mrn["value"]) == (resources.MRN, "MRN-77")
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert band["system"] == resources.WRISTBAND and band["value"].startswith("P")
    assert patient["name"][0]["text"] == "Ada Given" and patient["birthDate"] == "1980-05-17"

    specimen = fhir_get(client, f"/Specimen/{source_id}", tech)
    din = specimen["identifier"][0]
    assert din["system"] == resources.DIN and len(din["value"]) == 13
    assert specimen["status"] == "unavailable"  # processed: used up
    assert ext(specimen, resources.LIFECYCLE_STATUS)["valueCode"] == "processed"
    assert specimen["subject"] == {"reference": f"Patient/{patient_id}"}
    assert specimen["collection"]["bodySite"]["text"] == "antecubital vein"
    quantity = specimen["collection"]["quantity"]
    assert (
        quantity["code"] == "mL" and quantity["value"] == db.session.get(Unit, source_id).volume_ml
    )
    assert specimen["type"]["coding"][0]["code"] == "S1030"

    product = fhir_get(client, f"/BiologicallyDerivedProduct/{product_id}", tech)
    assert product["productCode"]["coding"][0]["code"] == "S2030"
    assert product["productCategory"] == "cells" and product["status"] == "unavailable"
    assert product["identifier"][0] == {
        "use": "official",
        "system": resources.DIN,
        "value": din["value"],
    }
    assert ext(product, R5 + "biologicalSourceEvent")["valueIdentifier"]["value"] == din["value"]
    assert ext(product, R5 + "division")["valueString"] == "00"
    assert ext(product, R5 + "productStatus")["valueCodeableConcept"]["coding"][0]["code"] == (
        "unavailable"
    )
    facility = ext(product, R5 + "processingFacility")["valueReference"]
    assert facility["identifier"]["system"] == resources.FACILITY
    assert ext(product, resources.SOURCE_SPECIMEN)["valueReference"] == {
        "reference": f"Specimen/{source_id}"
    }
    assert "parent" not in product  # made from the collection, not from another product
    (storage,) = product["storage"]
    assert storage["scale"] == "celsius" and storage["temperature"] == 20.0  # PRP: 15–25 °C
    assert ext(product, R5 + "storageTempRequirements")["valueRange"]["low"]["value"] == 15
    assert storage["duration"]["end"] == ext(product, R5 + "expirationDate")["valueDateTime"]
    assert product["collection"]["source"] == {"reference": f"Patient/{patient_id}"}
    assert "Ada Given" not in str(product)

    procedure = fhir_get(client, f"/Procedure/{product_id}", tech)
    assert procedure["status"] == "completed"
    assert procedure["usedReference"] == [{"reference": f"BiologicallyDerivedProduct/{product_id}"}]
    assert procedure["subject"] == {"reference": f"Patient/{patient_id}"}
    assert procedure["performer"][0]["actor"]["display"] == "Test Clinician"
    assert procedure["bodySite"][0]["text"].startswith("scalp, ")
    assert procedure["identifier"][0]["system"] == resources.LEDGER_ENTRY

    course = fhir_get(client, f"/Patient/{patient_id}/$everything", tech)
    kinds = [e["resource"]["resourceType"] for e in course["entry"]]
    assert kinds == ["Patient", "Specimen", "BiologicallyDerivedProduct", "Procedure"]
    assert course["type"] == "searchset" and course["total"] == 4
    assert course["entry"][2]["fullUrl"].endswith(f"/fhir/BiologicallyDerivedProduct/{product_id}")


def test_the_capability_statement_is_public_and_lists_what_is_served(client):
    statement = fhir_get(client, "/metadata")
    assert statement["fhirVersion"] == "4.0.1"
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(served) == {
        "Patient",
        "Specimen",
        "BiologicallyDerivedProduct",
        "Procedure",
        "Observation",
    }
    assert {p["name"] for p in served["Observation"]["searchParam"]} == {"_id", "patient"}
    assert {p["name"] for p in served["BiologicallyDerivedProduct"]["searchParam"]} >= {
        "identifier",
        "patient",
    }
    assert served["Patient"]["operation"][0]["name"] == "everything"


def test_unknown_ids_types_and_methods_are_operation_outcomes(client, token, given):
    source_id, product_id, patient_id = given
    tech = token("technician")
    assert refused(client, "/Patient/999999", tech, 404) == "not-found"
    assert refused(client, "/Patient/abc", tech, 404) == "not-found"
    assert refused(client, "/Patient/99999999999999999999", tech, 404) == "not-found"
    # a collection is no product and a product no collection
    assert refused(client, f"/BiologicallyDerivedProduct/{source_id}", tech, 404) == "not-found"
    assert refused(client, f"/Specimen/{product_id}", tech, 404) == "not-found"
    assert refused(client, f"/Procedure/{source_id}", tech, 404) == "not-found"
    assert refused(client, "/MedicationRequest", tech, 404) == "not-found"
    assert refused(client, "/Patient/999999/$everything", tech, 404) == "not-found"
    assert refused(client, "/Patient?name=Ada", tech, 400) == "invalid"
    assert refused(client, "/Patient?_count=many", tech, 400) == "invalid"
    assert refused(client, "/Patient", None, 401) == "login"
    assert refused(client, "/Patient", {"Authorization": "Bearer not-a-token"}, 401) == "login"
    response = client.post(f"/fhir/Patient/{patient_id}", headers=tech, json={})
    assert response.status_code == 405 and response.mimetype == "application/fhir+json"
    valid(response.get_json())


def test_a_web_session_does_not_open_fhir(login, given):
    client = login("technician")
    assert refused(client, f"/Patient/{given[2]}", None, 401) == "login"
    assert client.get("/fhir/Patient").headers["WWW-Authenticate"].startswith("Bearer")


def test_a_password_an_admin_set_is_changed_before_fhir_opens(client, token, users, given):
    tech = token("technician")
    users["technician"].must_change_password = True
    db.session.commit()
    assert refused(client, f"/Patient/{given[2]}", tech, 403) == "forbidden"


@pytest.mark.req("LIMS-3")
def test_another_clinicians_patient_is_not_found_until_granted_all(client, token, users, given):
    from lims.services.admin import accounts

    source_id, product_id, patient_id = given
    other = accounts.create_user("doctor2", "clinician", "test-pass-1234", full_name="Dr Other")
    response = client.post(
        "/api/v1/tokens", json={"username": "doctor2", "password": "test-pass-1234"}
    )
    theirs = {"Authorization": f"Bearer {response.get_json()['token']}"}
    for path in (
        f"/Patient/{patient_id}",
        f"/Specimen/{source_id}",
        f"/BiologicallyDerivedProduct/{product_id}",
        f"/Procedure/{product_id}",
        f"/Patient/{patient_id}/$everything",
    ):
        assert refused(client, path, theirs, 404) == "not-found", path
    # the very answer an unknown id gets
    unknown = fhir_get(client, "/Patient/999999", theirs, 404)["issue"][0]["diagnostics"]
    mine = fhir_get(client, f"/Patient/{patient_id}", theirs, 404)["issue"][0]["diagnostics"]
    assert unknown.replace("999999", "X") == mine.replace(str(patient_id), "X")
    assert fhir_get(client, "/Patient?identifier=MRN-77", theirs)["total"] == 0
    assert fhir_get(client, f"/Procedure?patient={patient_id}", theirs)["total"] == 0
    other.all_patients = True  # an admin's grant (decision 61)
    db.session.commit()
    assert fhir_get(client, f"/Procedure/{product_id}", theirs)["id"] == str(product_id)
