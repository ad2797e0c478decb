"""Outcome assessments as FHIR Observations (decision 114): one per measure recorded, valid for
``fhir.resources``' R4B models, about the patient and the course's product, with UCUM units; a
correction's Observations ``corrected`` and those it replaced ``entered-in-error``; searched by
patient and in ``$everything`` (SQLite: the reads are plain selects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from lims.services.actions import treatment, units
from lims.services.admin import accounts
from lims.services.clinic import outcomes
from lims.services.fhir import observations
from tests.backends import backend  # noqa: F401  (SQLite alone)
from tests.conftest import PASSWORD, registration
from tests.service.lab import data_for, walk


def _get(client, path: str, headers: dict[str, str], status: int = 200) -> dict:
    response = client.get(f"/fhir{path}", headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def test_each_measure_is_an_observation_of_the_patient_and_the_product_given(client, token, users):
    doctor = users["clinician"]
    collection = units.register(registration(mrn="MRN-88", name="Obi Served"), doctor).unit
    planned = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    plan = treatment.create_plan(
        collection.patient_id,
        {
            "indication": "androgenetic_alopecia",
            "sessions": [{"kind": "initial", "product_type": "SVF", "planned_at": planned}],
        },
        doctor,
    )
    baseline = outcomes.record(
        plan.id, {"visit": "baseline", "hair_count": 60, "area_cm2": 0.5}, doctor
    )
    product = walk(collection, "dispensed", users)
    units.perform_action(product.id, "administer", data_for("administer", unit=product), doctor)
    month_3 = outcomes.record(
        plan.id,
        {"visit": "month_3", "hair_count": 70, "area_cm2": 0.5, "patient_global": 1},
        doctor,
    )
    fixed = outcomes.correct(
        month_3.id,
        {"hair_count": 72, "area_cm2": 0.5, "patient_global": 1, "reason": "recounted"},
        doctor,
    )
    patient = collection.patient_id
    qa = token("qa")

    found = _get(client, f"/Observation?patient={patient}", qa)
    Bundle.model_validate(found)
    made = {e["resource"]["id"]: e["resource"] for e in found["entry"]}
    for resource in made.values():
        Observation.model_validate(resource)
    assert set(made) == {
        f"{row.id}-{code}"
        for row, codes in (
            (baseline, ("hair-density", "hair-count")),
            (month_3, ("hair-density", "hair-count", "patient-global")),
            (fixed, ("hair-density", "hair-count", "patient-global")),
        )
        for code in codes
    }
    density = made[f"{baseline.id}-hair-density"]
    assert density["status"] == "final"
    assert density["code"]["coding"][0] == {
        "system": observations.MEASURE_SYSTEM,
        "code": "hair-density",
        "display": "Hair density at the target area",
    }
    assert density["valueQuantity"] == {
        "value": 120.0,
        "unit": "/cm²",
        "system": "http://unitsofmeasure.org",
        "code": "/cm2",
    }
    assert density["subject"] == {"reference": f"Patient/{patient}"}
    # the baseline is the reference for the course's first product: its focus
    assert density["focus"] == [{"reference": f"BiologicallyDerivedProduct/{product.id}"}]
    assert made[f"{fixed.id}-hair-count"]["valueQuantity"]["code"] == "{hairs}"
    assert made[f"{fixed.id}-patient-global"]["valueInteger"] == 1
    assert made[f"{fixed.id}-hair-density"]["status"] == "corrected"
    assert "recounted" in made[f"{fixed.id}-hair-density"]["note"][0]["text"]
    replaced = made[f"{month_3.id}-hair-density"]
    assert replaced["status"] == "entered-in-error" and replaced["valueQuantity"]["value"] == 140.0

    one = _get(client, f"/Observation/{fixed.id}-hair-density", qa)
    assert Observation.model_validate(one).valueQuantity.value == 144.0
    by_id = _get(client, f"/Observation?_id={baseline.id}-hair-count", qa)
    assert [e["resource"]["id"] for e in by_id["entry"]] == [f"{baseline.id}-hair-count"]

    course = _get(client, f"/Patient/{patient}/$everything", qa)
    Bundle.model_validate(course)
    kinds = [e["resource"]["resourceType"] for e in course["entry"]]
    assert kinds.count("Observation") == 8 and kinds[-1] == "Observation"

    # another clinician: the very 404 of an unknown id; a measure never recorded: 404 too
    accounts.create_user("doc2", "clinician", PASSWORD, full_name="Dr. Other")
    response = client.post("/api/v1/tokens", json={"username": "doc2", "password": PASSWORD})
    other = {"Authorization": f"Bearer {response.get_json()['token']}"}
    _get(client, f"/Observation/{baseline.id}-hair-density", other, 404)
    assert _get(client, f"/Observation?patient={patient}", other)["total"] == 0
    _get(client, f"/Observation/{baseline.id}-satisfaction", qa, 404)
    _get(client, "/Observation/nonsense", qa, 404)
