"""API test fixtures: an ``api`` helper
that calls the JSON API as a given role (or anonymously) and reads like the lab's actions.

Every answer the helper receives is checked for passwords: no password sent with a
request, nor the test users' own, may come back in any response, and no response holds a
password field (the OpenAPI document, which describes the fields, excepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, Patient, Unit
from tests.conftest import ACTION_DATA, PASSWORD, registration

SECRET_FIELDS = frozenset({"password", "physician_password", "current_password", "new_password"})


def secret_fields(value: Any, where: str = "$") -> list[str]:
    """Where in a JSON value a password field appears (an error may name the field that
    was wrong in ``error.fields``; that names it, it does not hold it)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS and where != "$.error.fields":
                found.append(f"{where}.{key}")
            found += secret_fields(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += secret_fields(item, f"{where}[{index}]")
    return found


def assert_no_secrets(response, sent: Any = None) -> None:
    """No password (ours, or any sent in the request) and no password field in the answer."""
    if not response.is_json or response.request.path.endswith("/openapi.json"):
        return
    text = response.get_data(as_text=True)
    secrets = {PASSWORD}
    if isinstance(sent, dict):
        secrets |= {v for k, v in sent.items() if k in SECRET_FIELDS and isinstance(v, str) and v}
    for secret in secrets:
        assert secret not in text, f"a password came back: {text[:300]}"
    assert not secret_fields(response.get_json()), secret_fields(response.get_json())


@dataclass
class Api:
    client: FlaskClient
    token: Any
    _headers: dict[str, dict[str, str]]

    def headers(self, as_: str | None) -> dict[str, str]:
        if as_ is None:
            return {}
        if as_ not in self._headers:
            self._headers[as_] = self.token(as_)
        return self._headers[as_]

    def get(self, path: str, as_: str | None = "technician", **kwargs: Any):
        response = self.client.get(f"/api/v1{path}", headers=self.headers(as_), **kwargs)
        assert_no_secrets(response)
        return response

    def post(self, path: str, body: Any = None, as_: str | None = "technician", **kwargs: Any):
        if body is not None:
            kwargs["json"] = body
        response = self.client.post(f"/api/v1{path}", headers=self.headers(as_), **kwargs)
        assert_no_secrets(response, body)
        return response

    def register(self, kind: str = "ADIPOSE", as_: str = "clinician", **overrides: Any) -> dict:
        response = self.post("/units", registration(kind, **overrides), as_=as_)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def action(self, unit: dict, action: str, as_: str = "technician", **fields: Any):
        """POST the action; a signed one names the unit's version as it is now (the API
        requires it with a signature)."""
        if "password" in fields and "version" not in fields:
            fields["version"] = self.get(f"/units/{unit['id']}", as_=as_).get_json()["version"]
        return self.post(f"/units/{unit['id']}/actions", {"action": action, **fields}, as_=as_)

    def act(
        self, unit: dict, action: str, as_: str = "technician", expect: int = 200, **fields: Any
    ) -> dict:
        data = fields or ACTION_DATA[action](unit["type"])
        response = self.action(unit, action, as_=as_, **data)
        assert response.status_code == expect, response.get_json()
        return response.get_json()


@pytest.fixture
def api(client, token) -> Api:
    return Api(client, token, {})


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def state():
    """What a refused request must leave as it was: every unit's status and version, and
    the number of units, patients and ledger entries."""

    def _state() -> dict[str, Any]:
        db.session.expire_all()
        units = db.session.execute(select(Unit.id, Unit.status, Unit.version)).all()
        return {
            "units": sorted(tuple(row) for row in units),
            "patients": _count(Patient),
            "ledger": _count(LedgerEntry),
        }

    return _state
