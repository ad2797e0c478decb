"""POST /api/v1/scan, /scan/identity and /scan/batch: each kind of code, each error, the
move and identity sequences, and a batch with one bad unit."""

from __future__ import annotations

import pytest

from lims.domain.codes import make_location_code
from lims.domain.identifiers import barcode_data, make_wristband
from tests.api.helpers import assert_error
from tests.backends import backend  # noqa: F401  (SQLite alone: the scan API's answers; the scan service is tested on both in test_scan_service)


@pytest.fixture
def fridge(place):
    return place()


def test_a_unit_scan_carries_the_unit_as_the_unit_endpoint_shows_it(api, unit_in):
    unit = unit_in("collected")
    answer = api.post("/scan", {"code": unit.barcode_data})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["kind"] == "unit"
    assert body["unit"] == api.get(f"/units/{unit.id}").get_json()
    assert body["allowed_actions"] == body["unit"]["allowed_actions"]


@pytest.mark.parametrize(
    ("what", "kind"),
    [("wristband", "patient"), ("location", "location"), ("product", "product_code")],
)
def test_other_kinds_of_code(api, unit_in, fridge, what, kind):
    unit = unit_in("collected")
    code = {
        "wristband": unit.patient.wristband,
        "location": fridge.code,
        "product": "=<S201000",
    }[what]
    body = api.post("/scan", {"code": code}, as_="qa").get_json()
    assert body["kind"] == kind
    if kind == "patient":
        assert body["patient"]["mrn"] == unit.patient.mrn
    if kind == "location":
        assert body["location"]["code"] == fridge.code


def test_a_collection_lists_its_units(api, unit_in):
    source = unit_in("processed")
    body = api.post("/scan", {"code": source.eye_readable}).get_json()
    assert body["kind"] == "collection" and body["unit"] is None
    assert [u["id"] for u in body["units"]] == [source.id, source.children[0].id]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (barcode_data("T000126999999"), 404, "unknown_identifier"),
        (make_wristband("T0001", 999), 404, "unknown_wristband"),
        (make_location_code("T0001", 999), 404, "unknown_location"),
        ("T000126000001X", 422, "bad_check_character"),
        ("", 422, "empty"),
    ],
)
def test_scan_errors(api, unit_in, stored, code, status, error):
    unit_in("collected")
    before = stored()
    answer = api.post("/scan", {"code": code})
    assert_error(answer, status, error)
    assert stored() == before


def test_a_wrong_check_character_names_the_expected_one(api, unit_in):
    unit = unit_in("collected")
    wrong = "0" if unit.check_character != "0" else "1"
    answer = api.post("/scan", {"code": unit.din + wrong})
    assert f"expected '{unit.check_character}'" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize("body", [{}, {"code": 5}, {"code": "x", "extra": 1}])
def test_a_malformed_scan_request_is_422(api, body):
    assert api.post("/scan", body).status_code == 422


def test_the_move_through_the_api_is_in_the_history(api, unit_in, fridge):
    unit = unit_in("received")
    answer = api.post(
        f"/units/{unit.id}/actions",
        {"action": "move", "location": fridge.code, "version": unit.version},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["unit"]["location"]["code"] == fridge.code
    history = api.get(f"/units/{unit.id}/history").get_json()["entries"]
    assert history[-1]["action"] == "move" and history[-1]["to_location_id"] == fridge.id


def test_a_move_to_an_unknown_location_is_422_naming_it(api, unit_in, stored):
    unit = unit_in("received")
    code = make_location_code("T0001", 999)
    before = stored()
    answer = api.post(f"/units/{unit.id}/actions", {"action": "move", "location": code})
    assert_error(answer, 422, "unknown_location")
    assert code in answer.get_json()["error"]["message"]
    assert stored() == before


@pytest.mark.parametrize("matching", [True, False], ids=["match", "mismatch"])
def test_identity_check_answers_and_records(api, unit_in, matching):
    unit = unit_in("received")
    other = unit_in("collected", mrn="MRN-2", name="Other Person")
    wristband = (unit if matching else other).patient.wristband
    answer = api.post("/scan/identity", {"wristband": wristband, "unit": unit.barcode_data})
    body = answer.get_json()
    assert answer.status_code == 200
    assert body["result"] == ("match" if matching else "mismatch")
    assert body["entry"]["action"] == "identity_check"
    assert body["entry"]["data"]["result"] == body["result"]
    if not matching:
        assert "MISMATCH" in body["message"] and "Other Person" in body["message"]


def test_a_batch_with_one_bad_unit(api, unit_in, stored):
    good = unit_in("received")
    bad = unit_in("discarded")
    answer = api.post(
        "/scan/batch",
        {"units": [good.id, bad.id], "action": "discard", "reason": "batch clean-up"},
        as_="qa",
    )
    body = answer.get_json()
    assert answer.status_code == 200
    assert (body["succeeded"], body["failed"]) == (1, 1)
    assert body["results"][0] == {
        "unit_id": good.id,
        "ok": True,
        "status": "discarded",
        "error": None,
    }
    assert body["results"][1]["error"]["code"] == "not_allowed_now"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"units": [1], "reason": "x"}, 422),
        ({"units": [1], "action": "approve"}, 422),
        ({"units": [1], "action": "release", "password": "x", "meaning": "reviewed"}, 422),
        ({"units": "1", "action": "discard", "reason": "xyz"}, 422),
        ({"units": [1], "action": "dispatch", "courier": "a", "transport_condition": "b"}, 403),
    ],
    ids=["no action", "unknown action", "signed action", "units not a list", "role may not"],
)
def test_a_bad_batch_request_is_refused_whole(api, unit_in, stored, body, status):
    unit_in("collected")
    before = stored()
    assert api.post("/scan/batch", body, as_="qa").status_code == status
    assert stored() == before


def test_scan_answers_match_the_documented_schemas(api, client, unit_in, fridge):
    from tests.api.test_api_openapi import conforms

    doc = client.get("/api/v1/openapi.json").get_json()
    unit = unit_in("processed")
    product = unit.children[0]
    calls = {
        "/scan": [
            api.post("/scan", {"code": code})
            for code in (
                unit.barcode_data,
                f"{product.barcode_data}=<{product.product_code}{product.division}",
                unit.patient.wristband,
                fridge.code,
                "=<S201000",
            )
        ],
        "/scan/identity": [
            api.post(
                "/scan/identity", {"wristband": unit.patient.wristband, "unit": unit.eye_readable}
            )
        ],
        "/scan/batch": [
            api.post("/scan/batch", {"units": [product.id], "action": "move", "location": "x"})
        ],
    }
    for path, answers in calls.items():
        schema = doc["paths"][f"/api/v1{path}"]["post"]["responses"]["200"]["content"]
        for answer in answers:
            assert answer.status_code == 200, answer.get_json()
            conforms(answer.get_json(), schema["application/json"]["schema"], doc)
