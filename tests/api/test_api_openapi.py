"""The OpenAPI document: complete, generated from the lifecycle's models, and true to what
the API really answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lims.converters import IdConverter
from lims.domain.lifecycle import UNIT_ACTIONS, RegisterFields
from tests.conftest import ACTION_DATA, PASSWORD, registration

from .helpers import assert_error

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def doc(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")  # public: no token
    assert response.status_code == 200
    return response.get_json()


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_every_api_route_is_documented_and_nothing_else(app, doc):
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods & METHODS
    }
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert doc["openapi"].startswith("3.1")
    assert routes == documented


def test_every_path_parameter_is_defined(app, doc):
    """Each ``{name}`` of a path is a required integer parameter of each of its operations
    (what the ``id`` converter takes), and no operation defines one its path lacks."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            assert all(isinstance(c, IdConverter) for c in rule._converters.values()), rule
    for path, ops in doc["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, op in ops.items():
            params = {p["name"]: p for p in op.get("parameters", ()) if p["in"] == "path"}
            assert set(params) == in_path, (method, path)
            for param in params.values():
                assert param["required"] is True
                assert param["schema"]["type"] == "integer"


def test_links_lead_from_an_answer_to_the_operations_it_names(doc):
    """Each link names an operation of the document and fills exactly its path parameters
    from the answer (what a client, or a stateful fuzzer, does next)."""
    ops = {
        op["operationId"]: (path, op) for path, item in doc["paths"].items() for op in item.values()
    }
    linked = set()
    for item in doc["paths"].values():
        for op in item.values():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    target_path, _ = ops[link["operationId"]]
                    assert set(link["parameters"]) == set(re.findall(r"{([^}]+)}", target_path))
                    assert all(
                        v.startswith("$response.body#/") for v in link["parameters"].values()
                    )
                    linked.add(link["operationId"])
    assert {"get_unit", "unit_action", "get_job", "move_appointment", "read_notification"} <= linked


def test_the_action_body_is_one_schema_per_lifecycle_action(doc):
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/api/v1/units/{unit_id}/actions"]["post"]["requestBody"]
    union = schemas[body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    mapping = union["discriminator"]["mapping"]
    assert union["discriminator"]["propertyName"] == "action"
    assert set(mapping) == set(UNIT_ACTIONS)
    assert len(union["oneOf"]) == len(UNIT_ACTIONS)
    for name, ref in mapping.items():
        member = schemas[ref.split("/")[-1]]
        fields = UNIT_ACTIONS[name].fields.model_json_schema()
        assert member["properties"]["action"]["const"] == name
        # An action that always signs requires the version its signer saw.
        signs = UNIT_ACTIONS[name].signed and "password" in fields.get("required", ())
        assert set(member["properties"]) == {*fields["properties"], "action", "version"}
        assert set(member["required"]) == {
            *fields.get("required", ()),
            "action",
            *(("version",) if signs else ()),
        }
        assert member["additionalProperties"] is False


def test_registration_is_documented_from_the_lifecycle_model(doc):
    schemas = doc["components"]["schemas"]
    op = doc["paths"]["/api/v1/units"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/RegisterFields"
    expected = RegisterFields.model_json_schema()
    assert set(schemas["RegisterFields"]["properties"]) == set(expected["properties"])
    assert (
        schemas["RegisterFields"]["properties"]["volume_ml"]
        == (expected["properties"]["volume_ml"])
    )
    assert "Location" in op["responses"]["201"]["headers"]


def test_security_follows_each_routes_role_check(doc):
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ops = {op["operationId"]: op for path in doc["paths"].values() for op in path.values()}
    assert ops["create_token"]["security"] == []
    assert ops["openapi_document"]["security"] == []
    assert ops["list_units"]["security"] == [{"bearer": []}]
    assert ops["verify_ledger"]["description"] == "Roles: qa."
    assert ops["register_unit"]["description"] == "Roles: clinician, technician."
    for name, op in ops.items():
        if op["security"]:
            assert "401" in op["responses"], name


def test_errors_are_documented_in_the_one_shape(doc):
    responses = doc["components"]["responses"]
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message"}
    for response in responses.values():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    action = doc["paths"]["/api/v1/units/{unit_id}/actions"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "415", "422"} <= set(action)


# ---------------------------------------------------------------------------- conformance


def conforms(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> None:
    """A small JSON-Schema check (the subset pydantic emits): every key documented, every
    required key present, every type as documented."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    if "anyOf" in schema:
        problems = []
        for option in schema["anyOf"]:
            try:
                conforms(value, option, doc, where)
                return
            except AssertionError as exc:
                problems.append(str(exc))
        raise AssertionError(f"{where}: matches no option: {problems}")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    kind = schema.get("type")
    checks = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
    }
    if kind:
        assert isinstance(value, checks[kind]), f"{where}: {value!r} is not {kind}"
        if kind in ("integer", "number"):
            assert not isinstance(value, bool), f"{where}: {value!r} is not {kind}"
    if kind == "object":
        properties = schema.get("properties")
        if properties is not None:
            assert set(value) <= set(properties), (
                f"{where}: undocumented {set(value) - set(properties)}"
            )
            missing = set(schema.get("required", ())) - set(value)
            assert not missing, f"{where}: missing {missing}"
            for key, item in value.items():
                conforms(item, properties[key], doc, f"{where}.{key}")
        elif isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                conforms(item, schema["additionalProperties"], doc, f"{where}.{key}")
    if kind == "array":
        for i, item in enumerate(value):
            conforms(item, schema.get("items", {}), doc, f"{where}[{i}]")


def _documented(doc, path: str, method: str, status: int) -> dict[str, Any]:
    response = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
    return response["content"]["application/json"]["schema"]


def test_real_answers_match_the_documented_schemas(api, doc):
    unit = api.register("ADIPOSE")
    calls = [
        ("/api/v1/units", "post", 201, api.post("/units", registration("BLOOD"))),
        ("/api/v1/units", "get", 200, api.get("/units")),
        ("/api/v1/units/{unit_id}", "get", 200, api.get(f"/units/{unit['id']}")),
    ]
    for step in ("receive", "start_processing", "complete_processing"):
        calls.append(("/api/v1/units/{unit_id}/actions", "post", 200, _act(api, unit, step)))
    calls += [
        ("/api/v1/units/{unit_id}/history", "get", 200, api.get(f"/units/{unit['id']}/history")),
        ("/api/v1/ledger/verify", "get", 200, api.get("/ledger/verify", as_="qa")),
        ("/api/v1/tokens", "post", 201, api.post("/tokens", _credentials(), as_=None)),
        ("/api/v1/units", "post", 422, api.post("/units", {"type": 5})),
        ("/api/v1/units/{unit_id}", "get", 404, api.get("/units/999999")),
        ("/api/v1/ledger/verify", "get", 403, api.get("/ledger/verify")),
        (  # no full verification yet: nothing for a quick check to start from
            "/api/v1/ledger/verify/from-receipt",
            "get",
            409,
            api.get("/ledger/verify/from-receipt", as_="qa"),
        ),
        ("/api/v1/units", "get", 401, api.get("/units", as_=None)),
    ]
    for path, method, status, response in calls:
        assert response.status_code == status, (path, response.get_json())
        conforms(response.get_json(), _documented(doc, path, method, status), doc, path)


def _act(api, unit: dict, step: str):
    body = {"action": step, **ACTION_DATA[step](unit["type"])}
    return api.post(f"/units/{unit['id']}/actions", body)


def _credentials() -> dict[str, str]:
    return {"username": "tech", "password": PASSWORD}


def test_the_checker_itself_catches_a_wrong_answer(doc):
    schema = {"$ref": "#/components/schemas/VerifyOut"}
    good = {"intact": True, "checked": 1, "head_seq": 1, "first_break": None}
    conforms(good, schema, doc)
    for bad in ({**good, "checked": "1"}, {**good, "extra": 1}, {"intact": True}):
        with pytest.raises(AssertionError):
            conforms(bad, schema, doc)


def test_the_document_needs_no_token_but_other_routes_do(client, users):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert_error(client.get("/api/v1/ledger/verify"), 401)
