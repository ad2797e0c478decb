"""The equipment register over the API (/api/v1/equipment): answers as the OpenAPI document
says, refusals in the one error shape with nothing written, a request the document allows
refused only by a rule it names (x-rules), and what it refuses for its shape refused by the
document too."""

from __future__ import annotations

from typing import Any

import pytest

from lims.services.materials import equipment
from tests.api.helpers import assert_error
from tests.api.test_api_document_exact import allows, body_schema, rule_fields
from tests.backends import backend  # noqa: F401  (SQLite alone: the API's answers and shapes; the register's rules are tested on both in test_equipment_register)

from .conftest import check
from .equipment_lab import a_use, calibrate, days, make_item, state, today


def calibration(**changes: Any) -> dict[str, Any]:
    body = {
        "kind": "calibration",
        "performed_on": today().isoformat(),
        "performed_by": "Cal Services Ltd",
        "certificate_ref": "CERT-77",
        "valid_until": (today() + days(365)).isoformat(),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# ---------------------------------------------------------------------------- the happy path


def test_register_record_and_read_an_item(api, doc, users):
    body = {
        "name": "Flow cytometer 1",
        "kind": "flow_cytometer",
        "model": "BD FACSLyric",
        "serial_number": "FL-001",
        "calibration_interval_days": 180,
        "maintenance_interval_days": 365,
    }
    response = api.post("/equipment", body, as_="qa")
    item = check(doc, response, "/equipment", "post", 201)
    assert response.headers["Location"].endswith(f"/api/v1/equipment/{item['id']}")
    assert item["code"].startswith("ET0001") and item["status"] == "in_service"
    assert item["usable_today"] is True and item["records"] == []
    assert item["maintenance_due_on"] == (today() + days(365)).isoformat()

    path = f"/equipment/{item['id']}/calibrations"
    recorded = check(
        doc,
        api.post(path, calibration(valid_until=None)),
        "/equipment/{equipment_id}/calibrations",
        "post",
        201,
    )
    assert recorded["record"]["valid_until"] == (today() + days(180)).isoformat()
    assert recorded["equipment"]["calibration_valid_until"] == (today() + days(180)).isoformat()

    got = check(doc, api.get(f"/equipment/{item['id']}"), "/equipment/{equipment_id}", "get", 200)
    assert [r["certificate_ref"] for r in got["records"]] == ["CERT-77"]
    assert got["records"][0]["recorded_by"]["name"] == "Test Technician"

    listed = check(doc, api.get("/equipment?kind=flow_cytometer"), "/equipment", "get", 200)
    assert item["code"] in [i["code"] for i in listed["items"]]
    assert {i["kind"] for i in listed["items"]} == {"flow_cytometer"}
    codes = [i["code"] for i in listed["items"]]
    assert codes == sorted(codes)
    others = api.get("/equipment?kind=centrifuge&status=in_service").get_json()["items"]
    assert item["code"] not in [i["code"] for i in others]
    assert_error(api.get("/equipment?kind=toaster"), 422)


def test_status_out_of_service_and_back(api, doc, users):
    item = make_item(users)
    path = f"/equipment/{item.id}/status"
    out = check(
        doc,
        api.post(path, {"status": "out_of_service", "reason": "rotor imbalance"}),
        "/equipment/{equipment_id}/status",
        "post",
        200,
    )
    assert (out["status"], out["status_reason"], out["usable_today"]) == (
        "out_of_service",
        "rotor imbalance",
        False,
    )
    assert "out of service (rotor imbalance)" in out["problem"]
    back = api.post(path, {"status": "in_service"}, as_="qa").get_json()
    assert back["status"] == "in_service" and back["problem"] is None


def test_the_units_an_item_touched_in_exact_pages(api, doc, users, register):
    item = make_item(users)
    calibrate(users, item, today(), today() + days(90))
    units = [register("ADIPOSE", mrn=f"MRN-{n}") for n in range(3)]
    for unit in units:
        a_use(item, unit, step="centrifuge")

    path = f"/equipment/{item.id}/units"
    first = check(doc, api.get(f"{path}?per_page=2"), "/equipment/{equipment_id}/units", "get", 200)
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    assert [u["unit_id"] for u in first["items"]] == [units[2].id, units[1].id]
    assert first["items"][0]["calibration_valid_until"] == (today() + days(90)).isoformat()
    assert first["items"][0]["step"] == "centrifuge"
    second = api.get(f"{path}?per_page=2&page=2").get_json()
    assert [u["unit_id"] for u in second["items"]] == [units[0].id]
    assert api.get(f"{path}?per_page=2&page=3").get_json()["items"] == []  # exact pages
    assert_error(api.get(f"{path}?per_page=0"), 422)
    assert_error(api.get(f"{path}?page=2&page=3"), 422)


# ---------------------------------------------------------------------------- refusals


def test_unknown_items_are_404_and_clinicians_403(api, users):
    item = make_item(users)
    assert_error(api.get("/equipment/999999"), 404, "not_found")
    assert_error(api.post("/equipment/999999/status", {"status": "in_service"}), 404)
    assert_error(api.post("/equipment/999999/calibrations", calibration()), 404)
    assert_error(api.get("/equipment/999999/units"), 404)
    assert_error(api.get(f"/equipment/{item.id}", as_="clinician"), 403)
    assert_error(api.post("/equipment", {"name": "X", "kind": "other"}, as_="technician"), 403)
    assert_error(
        api.post(f"/equipment/{item.id}/status", {"status": "in_service"}, as_="admin"), 403
    )


def test_a_record_sent_twice_is_kept_once(api, users):
    item = make_item(users)
    path = f"/equipment/{item.id}/calibrations"
    assert api.post(path, calibration()).status_code == 201
    before = state()
    assert_error(api.post(path, calibration()), 409, "duplicate_record")
    assert state() == before


def test_back_into_service_with_a_lapsed_calibration_is_409(api, users):
    item = make_item(users)
    calibrate(users, item, today() - days(100), today() - days(1))
    equipment.set_status(item.id, {"status": "out_of_service", "reason": "lapsed"}, users["qa"])
    before = state()
    error = assert_error(
        api.post(f"/equipment/{item.id}/status", {"status": "in_service"}),
        409,
        "calibration_lapsed",
    )
    assert item.code in error["message"]
    assert state() == before


# What the document itself refuses (a client following it never sends these) …
SHAPE_MISTAKES = [
    ("kind", "repair"),
    ("performed_on", "2026-02-30"),
    ("performed_on", 20260101),
    ("performed_by", ""),
    ("performed_by", "   "),
    ("performed_by", "x" * 121),
    ("certificate_ref", "c" * 121),
    ("valid_until", "soon"),
    ("notes", "n" * 2001),
    ("colour", "red"),
]
# … and what only a rule the operation names refuses.
RULE_MISTAKES = [
    ("performed_on", "tomorrow"),
    ("valid_until", "today"),
    ("certificate_ref", None),
]


def _value(value: Any) -> Any:
    return (
        {
            "tomorrow": (today() + days(1)).isoformat(),
            "today": today().isoformat(),
        }.get(value, value)
        if isinstance(value, str)
        else value
    )


@pytest.mark.parametrize(("field", "value"), SHAPE_MISTAKES + RULE_MISTAKES)
def test_a_bad_record_is_refused_on_its_field_and_the_document_says_why(
    api, doc, users, field, value
):
    item = make_item(users)
    body = calibration(**{field: _value(value)})
    if value is None:
        body.pop(field, None)
    path = "/api/v1/equipment/{equipment_id}/calibrations"
    before = state()

    error = assert_error(api.post(f"/equipment/{item.id}/calibrations", body), 422)

    assert field in error["fields"], error
    assert state() == before
    if (field, value) in SHAPE_MISTAKES:
        assert not allows(doc, body_schema(doc, path), body), f"the document takes {field}"
    else:
        assert allows(doc, body_schema(doc, path), body)
        assert field in rule_fields(doc, path), f"x-rules does not name {field}"


def test_maintenance_with_a_valid_until_is_a_named_rule(api, doc, users):
    item = make_item(users, maintenance_interval_days=30)
    body = calibration(kind="maintenance")
    error = assert_error(api.post(f"/equipment/{item.id}/calibrations", body), 422)
    assert set(error["fields"]) == {"valid_until"}
    assert "valid_until" in rule_fields(doc, "/api/v1/equipment/{equipment_id}/calibrations")


REGISTRATION_MISTAKES = [
    ("name", ""),
    ("kind", "toaster"),
    ("maintenance_interval_days", 0),
    ("maintenance_interval_days", 3651),
    ("maintenance_interval_days", "30"),
    ("calibration_interval_days", 1.5),
    ("model", "m" * 121),
    ("serial_number", "s" * 81),
    ("location", "L" * 65),
    ("weight", 12),
]


@pytest.mark.parametrize(("field", "value"), REGISTRATION_MISTAKES)
def test_a_bad_registration_is_refused_by_the_api_and_the_document(api, doc, users, field, value):
    body = {"name": "Incubator 4", "kind": "incubator", field: value}
    before = state()
    error = assert_error(api.post("/equipment", body, as_="qa"), 422)
    assert field in error["fields"]
    assert state() == before
    assert not allows(doc, body_schema(doc, "/api/v1/equipment"), body)


def test_a_bad_location_code_is_a_named_rule(api, doc, users):
    body = {"name": "Incubator 4", "kind": "incubator", "location": "LT0001000001"}
    error = assert_error(api.post("/equipment", body, as_="admin"), 422)
    assert set(error["fields"]) == {"location"}
    assert allows(doc, body_schema(doc, "/api/v1/equipment"), body)
    assert "location" in rule_fields(doc, "/api/v1/equipment")


def test_out_of_service_without_a_reason_is_a_named_rule(api, doc, users):
    item = make_item(users)
    body = {"status": "out_of_service"}
    error = assert_error(api.post(f"/equipment/{item.id}/status", body), 422)
    assert set(error["fields"]) == {"reason"}
    path = "/api/v1/equipment/{equipment_id}/status"
    assert allows(doc, body_schema(doc, path), body)
    assert "reason" in rule_fields(doc, path)
    assert not allows(doc, body_schema(doc, path), {"status": "broken"})


def test_the_document_names_the_roles_of_each_operation(doc):
    ops = {
        (path, method): op
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/equipment")
        for method, op in item.items()
    }
    roles = {key: op["description"] for key, op in ops.items()}
    assert roles[("/api/v1/equipment", "get")] == "Roles: admin, qa, technician."
    assert roles[("/api/v1/equipment", "post")] == "Roles: admin, qa."
    assert roles[("/api/v1/equipment/{equipment_id}/calibrations", "post")] == (
        "Roles: qa, technician."
    )
    assert roles[("/api/v1/equipment/{equipment_id}/status", "post")] == "Roles: qa, technician."
    links = ops[("/api/v1/equipment", "post")]["responses"]["201"]["links"]
    assert set(links) == {
        "get_equipment",
        "record_equipment",
        "set_equipment_status",
        "equipment_units",
    }
