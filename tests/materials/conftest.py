"""Fixtures of the register tests: a token-bearing API client and the OpenAPI document; and
``check``, an answer checked against the schema the document gives for it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_api_openapi import conforms


@pytest.fixture
def api(client, token) -> Api:
    return Api(client, token, {})


@pytest.fixture
def doc(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def answer(doc, path: str, method: str, status: int) -> dict[str, Any]:
    response = doc["paths"][f"/api/v1{path}"][method]["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
    return response["content"]["application/json"]["schema"]


def check(doc, response, path: str, method: str, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    conforms(response.get_json(), answer(doc, path, method, status), doc, path)
    return response.get_json()
