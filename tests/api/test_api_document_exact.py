"""The OpenAPI document is exact: a request the API refuses for its shape, the document
refuses too, so a client that follows the document is never told its data is malformed.

Every mistake of the bad-input tables (``test_api_bad_input``) is checked against the
document's own schema; the few refusals no JSON Schema can state (a time relative to now, one
field against another, a check character) must be named in the operation's ``x-rules``."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: the document's shapes, not the data)
from tests.conftest import registration

from .helpers import assert_error
from .test_api_bad_input import (
    ACTION_MISTAKES,
    PRODUCT_MISTAKES,
    REGISTRATION_MISTAKES,
    _action_body,
    changed,
)

# Lone surrogates: refused by the API, said in the document's words (no validator takes
# a pattern that names them).
SURROGATE = "\ud800"


@pytest.fixture
def doc(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def allows(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Whether the document's ``schema`` takes ``value`` (formats asserted, as a client
    generating requests from the document would)."""
    root = {**schema, "components": doc["components"]}
    return jsonschema_rs.validator_for(root, validate_formats=True).is_valid(value)


def body_schema(doc: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def rule_fields(doc: dict[str, Any], path: str, method: str = "post") -> set[str | None]:
    return {rule.get("field") for rule in doc["paths"][path][method].get("x-rules", ())}


def test_the_good_bodies_of_those_tables_are_allowed_by_the_document(doc):
    """Else every mistake would be "refused by the document" for the wrong reason."""
    assert allows(doc, body_schema(doc, "/api/v1/units"), registration("ADIPOSE"))
    actions = body_schema(doc, "/api/v1/units/{unit_id}/actions")
    for action in ("receive", "dispatch", "reject", "discard"):
        assert allows(doc, actions, _action_body(action)), action
    completion = {"action": "complete_processing", "products": [{"type": "SVF", "volume_ml": 10}]}
    assert allows(doc, actions, completion)


BEYOND_REGISTRATION = {"collection_site", "collected_at"}  # fits the type; not in the future


@pytest.mark.parametrize(("path", "value"), REGISTRATION_MISTAKES)
def test_every_bad_registration_is_refused_by_the_document(doc, path, value):
    body = changed(registration("ADIPOSE"), path, value)
    if isinstance(value, str) and SURROGATE in value:
        return  # said in words (see SURROGATE)
    schema = body_schema(doc, "/api/v1/units")
    if allows(doc, schema, body):
        assert path in BEYOND_REGISTRATION, f"the document takes {path}={value!r}"
        assert path in rule_fields(doc, "/api/v1/units"), f"x-rules does not name {path}"


@pytest.mark.parametrize(("action", "path", "value"), ACTION_MISTAKES)
def test_every_bad_action_body_is_refused_by_the_document(doc, action, path, value):
    body = changed(_action_body(action), path, value)
    schema = body_schema(doc, "/api/v1/units/{unit_id}/actions")
    assert not allows(doc, schema, body), f"the document takes {action}: {path}={value!r}"


BEYOND_PRODUCTS = {"products"}  # products that fit the source (SVF from ADIPOSE)


@pytest.mark.parametrize(("path", "value"), PRODUCT_MISTAKES)
def test_every_bad_completion_is_refused_by_the_document_or_named_as_a_rule(doc, path, value):
    body = changed(
        {"action": "complete_processing", "products": [{"type": "SVF", "volume_ml": 10}]},
        path,
        value,
    )
    schema = body_schema(doc, "/api/v1/units/{unit_id}/actions")
    if allows(doc, schema, body):
        assert path in BEYOND_PRODUCTS, f"the document takes {path}={value!r}"
        assert path in rule_fields(doc, "/api/v1/units/{unit_id}/actions")


# The refusals a schema-following fuzzer met: each is refused by the API and, now, by the
# document too.
REFUSED = [
    pytest.param(
        "post", "/tokens", None, {"username": "tech\x07", "password": "a-guess"}, id="username"
    ),
    pytest.param(
        "post", "/tokens", None, {"username": "   ", "password": "a-guess"}, id="blank-username"
    ),
    pytest.param("post", "/scan", "technician", {"code": ""}, id="empty-code"),
    pytest.param("post", "/scan", "technician", {"code": "   "}, id="blank-code"),
    pytest.param("post", "/scan", "technician", {"code": "T0001\x0026"}, id="code-nul"),
    pytest.param(
        "post", "/scan/identity", "technician", {"wristband": "", "unit": "x"}, id="identity"
    ),
    pytest.param("post", "/scan/batch", "technician", {"action": "", "units": [1]}, id="batch"),
    pytest.param(
        "post", "/scan/batch", "qa", {"action": "release", "units": [1]}, id="batch-signed"
    ),
    pytest.param(
        "post", "/units", "clinician", {**registration(), "type": "SVF"}, id="product-type"
    ),
    pytest.param(
        "post", "/units", "clinician", {**registration(), "volume_ml": 5e-324}, id="tiny-volume"
    ),
]


@pytest.mark.parametrize(("method", "path", "role", "body"), REFUSED)
def test_what_the_api_refuses_for_its_shape_the_document_refuses(
    api, doc, state, method, path, role, body
):
    assert not allows(doc, body_schema(doc, f"/api/v1{path}", method), body)
    before = state()
    assert_error(api.post(path, body, as_=role), (400, 422))
    assert state() == before


def test_lone_surrogates_are_refused_and_the_document_says_so(api, doc, state):
    """No JSON Schema validator takes a pattern that names them: the words do."""
    assert "lone surrogate" in doc["info"]["description"]
    before = state()
    body = {"username": "tech" + SURROGATE, "password": "a-guess"}
    assert_error(api.post("/tokens", body, as_=None), 422, "invalid_text")
    assert state() == before


@pytest.mark.parametrize("target", ["units", "patients", "locations"])
def test_a_label_is_printed_at_a_resolution_the_document_names(doc, target):
    params = doc["paths"][f"/api/v1/{target}/{{{target[:-1]}_id}}/label"]["get"]["parameters"]
    (dpi,) = [p for p in params if p["name"] == "dpi"]
    assert dpi["schema"]["enum"] == [203, 300]


def test_the_api_refuses_a_resolution_the_document_does_not_name(api, register, users):
    unit = register("ADIPOSE")
    response = api.get(f"/units/{unit.id}/label?format=zpl&dpi=250")
    assert_error(response, 422)
    assert set(response.get_json()["error"]["fields"]) == {"dpi"}
