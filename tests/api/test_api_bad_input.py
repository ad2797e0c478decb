"""Bad input of every kind: always a 4xx in the one error shape, never a 500, and nothing
changes (units' status and version, patients, ledger)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: a refusal before anything is written; the unknown ids run on both)
from tests.conftest import receipt, registration

from .helpers import assert_error

DROP = object()
LONG = "x" * 10_000


def changed(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the dotted ``path`` set to ``value`` (or removed: DROP)."""
    result = copy.deepcopy(data)
    *parents, last = path.split(".")
    target = result
    for name in parents:
        target = target[name]
    if value is DROP:
        del target[last]
    else:
        target[last] = value
    return result


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


# ---------------------------------------------------------------------------- bodies

NOT_AN_OBJECT = [
    ("{", "application/json", 400),
    ('{"patient": }', "application/json", 400),
    ('{"volume_ml": 1}{"volume_ml": 2}', "application/json", 400),
    ("", "application/json", 400),
    ("[]", "application/json", 400),
    ('[{"type": "ADIPOSE"}]', "application/json", 400),
    ('"ADIPOSE"', "application/json", 400),
    ("42", "application/json", 400),
    ("true", "application/json", 400),
    ("null", "application/json", 400),
    ("NaN", "application/json", 400),
    ('{"volume_ml": Infinity}', "application/json", 400),
    ('{"volume_ml": ' + "9" * 5000 + "}", "application/json", 400),
    ("[" * 100_000 + "]" * 100_000, "application/json", 400),
    (b"\xff\xfe{\x00}", "application/json", 400),
    ('{"type": "ADIPOSE"}', "text/plain", 415),
    ("type=ADIPOSE", "application/x-www-form-urlencoded", 415),
    ('{"type": "ADIPOSE"}', None, 415),
]


@pytest.mark.parametrize(("data", "content_type", "status"), NOT_AN_OBJECT)
def test_registering_with_a_body_that_is_not_a_json_object_is_refused(
    api, state, data, content_type, status
):
    before = state()
    response = api.post("/units", as_="clinician", data=data, content_type=content_type)
    assert_error(response, status)
    assert state() == before


@pytest.mark.parametrize(("data", "content_type", "status"), NOT_AN_OBJECT)
def test_acting_with_a_body_that_is_not_a_json_object_is_refused(
    api, register, state, data, content_type, status
):
    unit = register("ADIPOSE")
    before = state()
    response = api.post(f"/units/{unit.id}/actions", data=data, content_type=content_type)
    assert_error(response, status)
    assert state() == before


def test_a_body_over_the_size_limit_is_refused_with_413(api, state):
    before = state()
    body = {**registration(), "collection_site": "x" * (1024 * 1024)}
    assert_error(api.post("/units", body, as_="clinician"), 413, "too_large")
    assert state() == before


# ---------------------------------------------------------------------------- register

REGISTRATION_MISTAKES = [
    # wrong types
    ("volume_ml", "250"),
    ("volume_ml", True),
    ("volume_ml", None),
    ("volume_ml", [250]),
    ("patient", "MRN-1"),
    ("patient", None),
    ("patient.name", 123),
    ("patient.mrn", 42),
    ("patient.birth_date", "yesterday"),
    ("type", 5),
    ("collection_site", ["abdomen"]),
    ("collected_at", "yesterday"),
    ("collected_at", True),
    ("donor_testing", True),
    ("donor_testing", "yes"),
    # missing fields
    *((name, DROP) for name in ("patient", "type", "collection_site", "volume_ml")),
    *((name, DROP) for name in ("collected_at", "patient.mrn", "patient.name")),
    # unknown fields
    ("colour", "red"),
    ("patient.ssn", "123-45-6789"),
    ("status", "released"),
    # out of range
    ("volume_ml", 0),
    ("volume_ml", -1),
    ("volume_ml", 5000.5),
    ("volume_ml", 1e308),
    ("volume_ml", 10**30),
    ("volume_ml", 5e-324),  # stored to the hundredth: it would be kept as 0.00 ml
    ("volume_ml", 0.004),
    # oversize and unstorable text
    ("patient.name", LONG),
    ("patient.mrn", LONG),
    ("collection_site", LONG),
    ("type", LONG),
    ("patient.name", "Pat\u0000Example"),
    ("patient.name", "Pat \ud800"),
    ("collection_site", "abdomen\x07"),
    ("patient.mrn", "MRN 1; DROP TABLE units"),
    ("patient.name", " "),
    # lab rules
    ("type", "LIVER"),
    ("type", "SVF"),
    ("collection_site", "knee"),
    ("collected_at", "2026-11-25T09:30:00"),
    # Named, not shown: an id must be the same in every pytest-xdist worker.
    pytest.param("collected_at", _iso(timedelta(hours=3)), id="collected_at-3h-ahead"),
    pytest.param("collected_at", _iso(-timedelta(days=60)), id="collected_at-60-days-ago"),
]


@pytest.mark.parametrize(("path", "value"), REGISTRATION_MISTAKES)
def test_a_registration_with_bad_data_is_refused_with_422(api, state, path, value):
    before = state()
    body = changed(registration("ADIPOSE"), path, value)
    error = assert_error(api.post("/units", body, as_="clinician"), 422)
    assert error["fields"]
    assert state() == before


def test_a_refusal_names_each_wrong_field(api):
    body = changed(changed(registration(), "volume_ml", "250"), "patient.name", 7)
    body["colour"] = "red"
    error = assert_error(api.post("/units", body, as_="clinician"), 422, "invalid_fields")
    assert set(error["fields"]) == {"volume_ml", "patient.name", "colour"}
    assert error["fields"]["colour"] == "unknown field"


# ---------------------------------------------------------------------------- actions

ACTION_MISTAKES = [
    # receive, on a collected unit
    ("receive", "temperature_c", True),
    ("receive", "temperature_c", "4"),
    ("receive", "temperature_c", None),
    ("receive", "temperature_c", DROP),
    ("receive", "temperature_c", -300),
    ("receive", "container_intact", "yes"),
    ("receive", "container_intact", 1),
    ("receive", "container_intact", DROP),
    ("receive", "label_matches", "no"),
    ("receive", "volume_ml", "250"),
    ("receive", "volume_ml", 0),
    ("receive", "volume_ml", -5),
    ("receive", "volume_ml", 10**9),
    ("receive", "volume_ml", 0.001),
    ("receive", "deviation_note", LONG),
    ("receive", "colour", "red"),
    # dispatch
    ("dispatch", "courier", LONG),
    ("dispatch", "courier", 123),
    ("dispatch", "courier", ""),
    ("dispatch", "courier", "Courier\u0000A"),
    ("dispatch", "transport_condition", DROP),
    # reject / discard
    ("reject", "reason", "x"),
    ("reject", "reason", LONG),
    ("discard", "reason", DROP),
    # the request's own fields
    ("receive", "action", DROP),
    ("receive", "action", 5),
    ("receive", "action", "explode"),
    ("receive", "action", "register"),
    ("receive", "action", ""),
    ("receive", "action", LONG),
    ("receive", "version", "1"),
    ("receive", "version", True),
    ("receive", "version", 1.5),
    ("receive", "version", [1]),
]


def _action_body(action: str) -> dict[str, Any]:
    fields = {
        "receive": receipt("ADIPOSE"),
        "dispatch": {"courier": "Courier A", "transport_condition": "cool box"},
        "reject": {"reason": "sample unusable"},
        "discard": {"reason": "not needed"},
    }[action]
    return {"action": action, **fields}


@pytest.mark.parametrize(("action", "path", "value"), ACTION_MISTAKES)
def test_an_action_with_bad_data_is_refused_with_422(api, register, state, action, path, value):
    unit = register("ADIPOSE")
    before = state()
    body = changed(_action_body(action), path, value)
    assert_error(api.post(f"/units/{unit.id}/actions", body), 422)
    assert state() == before


PRODUCT_MISTAKES = [
    ("products", []),
    ("products", "SVF"),
    ("products", [{"type": "PRP", "volume_ml": 10}]),
    ("products", [{"type": "SVF", "volume_ml": 10}, {"type": "SVF", "volume_ml": 5}]),
    ("products", [{"type": "SVF", "volume_ml": 1}] * 9),
    ("products", [{"type": "SVF", "volume_ml": "10"}]),
    ("products", [{"type": "SVF", "volume_ml": 10, "cell_count": -1}]),
    ("products", [{"type": "SVF", "volume_ml": 10, "cell_count": 1.5}]),
    ("products", [{"type": "SVF", "volume_ml": 10, "cell_count": "1e6"}]),
    ("products", [{"type": "SVF", "volume_ml": 10, "cell_count": 10**14}]),
    ("products", [{"type": "SVF", "volume_ml": 10, "flavour": "mint"}]),
    ("products", [{"type": LONG, "volume_ml": 10}]),
    ("notes", LONG),
]


@pytest.mark.parametrize(("path", "value"), PRODUCT_MISTAKES)
def test_completing_processing_with_bad_products_is_refused(api, register, act, state, path, value):
    unit = register("ADIPOSE")
    act(unit, "receive")
    act(unit, "start_processing")
    before = state()
    body = changed(
        {"action": "complete_processing", "products": [{"type": "SVF", "volume_ml": 10}]},
        path,
        value,
    )
    assert_error(api.post(f"/units/{unit.id}/actions", body), 422)
    assert state() == before


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("complete_processing", {"products": [{"type": "SVF", "volume_ml": 10}]}),
        ("start_processing", {"protocol": "standard", "equipment": "C-01"}),
    ],
)
def test_an_action_from_the_wrong_status_is_refused_with_409(api, register, state, action, fields):
    unit = register("ADIPOSE")
    before = state()
    response = api.post(f"/units/{unit.id}/actions", {"action": action, **fields})
    assert_error(response, 409, "not_allowed_now")
    assert state() == before


def test_a_version_from_the_future_is_stale_too(api, register, state):
    unit = register("ADIPOSE")
    before = state()
    body = {**_action_body("receive"), "version": 10**30}
    assert_error(api.post(f"/units/{unit.id}/actions", body), 409, "stale_version")
    assert state() == before


def test_a_whole_number_written_with_a_point_is_that_integer(api, register):
    """JSON Schema counts 1.0 as the integer 1, and so does the API: a client that follows
    the document may write a version or a unit id so."""
    unit = register("ADIPOSE")
    body = {**_action_body("receive"), "version": float(unit.version)}
    response = api.post(f"/units/{unit.id}/actions", body)
    assert response.status_code == 200, response.get_json()
    batch = {"action": "discard", "units": [float(unit.id)], "reason": "no longer needed"}
    result = api.post("/scan/batch", batch).get_json()
    assert result["succeeded"] == 1, result


@pytest.mark.parametrize(
    "fields",
    [
        {"reason": "no longer needed", "colour": "red"},
        {"reason": "x"},
        {},
        {"reason": ["no longer needed"]},
    ],
)
def test_a_batch_whose_fields_do_not_fit_its_action_is_refused_as_a_whole(
    api, register, state, fields
):
    """The fields are the same for every unit: refused once, before any unit is looked at,
    rather than once per unit in a 200 (the document refuses them too)."""
    units = [register("ADIPOSE").id, register("MARROW").id]
    before = state()
    response = api.post("/scan/batch", {"action": "discard", "units": units, **fields})
    error = assert_error(response, 422, "invalid_fields")
    assert set(error["fields"]) <= {"reason", "colour"}
    assert state() == before


@pytest.mark.parametrize("reason", ["torn%00off", "torn%07off", "%1b[31mred"])
def test_a_query_parameter_with_a_control_character_is_refused(api, register, state, reason):
    """Query text is held to the body's rule: nothing a record cannot store (a reprint's
    reason goes into the ledger)."""
    unit = register("ADIPOSE")
    assert api.get(f"/units/{unit.id}/label?format=pdf").status_code == 200  # printed once
    before = state()
    response = api.get(f"/units/{unit.id}/label?format=pdf&reason={reason}")
    error = assert_error(response, 422, "invalid_text")
    assert set(error["fields"]) == {"reason"}
    assert state() == before


# ---------------------------------------------------------------------------- unknown units

UNKNOWN_IDS = ["999999", "0", "2147483648", "99999999999999999999999", "-1", "abc", "1.5", "%00"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])  # ids: PostgreSQL's integers
@pytest.mark.parametrize("unit_id", UNKNOWN_IDS)
@pytest.mark.parametrize("suffix", ["", "/history"])
def test_reading_an_unknown_unit_gets_404(api, register, unit_id, suffix):
    register("ADIPOSE")
    assert_error(api.get(f"/units/{unit_id}{suffix}"), 404, "not_found")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])  # ids: PostgreSQL's integers
@pytest.mark.parametrize("unit_id", UNKNOWN_IDS)
def test_acting_on_an_unknown_unit_gets_404(api, register, state, unit_id):
    register("ADIPOSE")
    before = state()
    assert_error(api.post(f"/units/{unit_id}/actions", _action_body("receive")), 404)
    assert state() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/units"), ("put", "/units/1"), ("get", "/units/1/actions"), ("get", "/tokens")],
)
def test_an_unsupported_method_gets_405(api, register, method, path):
    register("ADIPOSE")
    response = getattr(api.client, method)(f"/api/v1{path}", headers=api.headers("technician"))
    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/units", {"GET", "POST"}),
        ("put", "/units/1", {"GET"}),
        ("get", "/units/1/actions", {"POST"}),
        ("patch", "/openapi.json", {"GET"}),
    ],
)
def test_a_405_says_which_methods_the_address_allows(api, method, path, allowed):
    """RFC 9110: a 405 carries ``Allow`` (werkzeug's header, kept by the JSON error)."""
    response = getattr(api.client, method)(f"/api/v1{path}", headers=api.headers("technician"))
    assert_error(response, 405, "method_not_allowed")
    listed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert listed - {"HEAD", "OPTIONS"} == allowed


def test_an_unknown_api_address_gets_a_json_404(api):
    assert_error(api.get("/no-such-thing"), 404, "not_found")


# ---------------------------------------------------------------------------- unit list

LIST_MISTAKES = [
    "page=abc",
    "page=0",
    "page=-1",
    "page=1.5",
    "page=99999999999999999999",
    "per_page=101",
    "per_page=0",
    "per_page=ten",
    "status=bogus",
    "status=",
    "type=LIVER",
    f"q={LONG}",
    "q=T000126000001X",
    "q=T0001-26-000001-0",
    "q=%3DT00012600000199",
    "q=%3DT0001",
    "q=Pat%00",
    "colour=red",
    "status=collected&status=received",
]


@pytest.mark.parametrize("query", LIST_MISTAKES)
def test_a_bad_unit_list_query_is_refused_with_422(api, register, query):
    register("ADIPOSE")
    assert_error(api.get(f"/units?{query}"), 422)
