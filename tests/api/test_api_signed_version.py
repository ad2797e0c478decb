"""A signature covers the unit as its signer saw it: over the API, an action that carries an
electronic signature (release, exceptional release, a signed rejection) names the unit's
version, and the document says so. Without it, a signature could cover a state its signer
never saw (a QC result recorded between reading the unit and signing)."""

from __future__ import annotations

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: the version field's answers; stale versions are tested on both in service/test_concurrency)
from tests.conftest import PASSWORD
from tests.service.lab import sign

from .helpers import assert_error, product_through_api, record_required_qc

EXCEPTIONAL = {
    "password": PASSWORD,
    "meaning": "approved exceptional release",
    "justification": "no alternative for this patient",
    "physician": "doctor",
    "physician_password": PASSWORD,
}
QA_REJECT = {"reason": "failed visual inspection", "password": PASSWORD, "meaning": "rejected"}


@pytest.fixture
def product(api) -> dict:
    """A product in quarantine with every required QC result passing: ready to release."""
    _, product = product_through_api(api, "ADIPOSE")
    record_required_qc(api, product)
    return api.get(f"/units/{product['id']}").get_json()


def _post(api, unit: dict, action: str, fields: dict, **extra):
    return api.post(f"/units/{unit['id']}/actions", {"action": action, **fields, **extra}, as_="qa")


@pytest.mark.parametrize(
    ("action", "fields"),
    [("release", sign()), ("exceptional_release", EXCEPTIONAL), ("reject", QA_REJECT)],
)
def test_a_signed_action_without_the_units_version_is_refused(api, state, product, action, fields):
    before = state()
    error = assert_error(_post(api, product, action, fields), 422, "version_required")
    assert set(error["fields"]) == {"version"}
    assert state() == before


@pytest.mark.req("P11-9")
@pytest.mark.parametrize(
    ("action", "fields"),
    [("release", sign()), ("exceptional_release", EXCEPTIONAL), ("reject", QA_REJECT)],
)
def test_a_signature_over_a_version_its_signer_did_not_see_is_refused(
    api, state, product, action, fields
):
    seen = product["version"]
    api.act(product, "record_qc", test="viability", value=91.0, method="flow", lot="L-2")
    before = state()
    response = _post(api, product, action, fields, version=seen)
    assert_error(response, 409, "stale_version")
    assert state() == before


def test_a_signature_over_the_version_its_signer_saw_is_accepted(api, product):
    response = _post(api, product, "release", sign(), version=product["version"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unit"]["status"] == "released"


def test_an_unsigned_rejection_needs_no_version(api):
    unit = api.register("ADIPOSE")
    body = {"action": "reject", "reason": "container cracked on arrival"}
    response = api.post(f"/units/{unit['id']}/actions", body)  # a technician, at receipt
    assert response.status_code == 200, response.get_json()


def test_the_document_requires_the_version_with_a_signature(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("ReleaseRequest", "ExceptionalReleaseRequest"):
        assert "version" in schemas[name]["required"], name
        assert schemas[name]["properties"]["version"]["type"] == "integer", name
    reject = schemas["RejectRequest"]
    assert "version" not in reject["required"]
    assert reject["dependentRequired"] == {"password": ["version"]}
    assert "version" not in schemas["ReceiveRequest"]["required"]
