"""Every FHIR route × every role, and anonymous: allowed, or a 401 OperationOutcome."""

from __future__ import annotations

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: which role reaches which route)
from tests.conftest import registration

from .access import PUBLIC
from .access_fhir import ENDPOINTS, FOUND

ROLES = ("technician", "clinician", "qa", "admin")
ROWS = [(name, index) for name, rows in sorted(ENDPOINTS.items()) for index in range(len(rows))]


@pytest.mark.req("P11-5")
@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "anonymous"])
@pytest.mark.parametrize(("name", "index"), ROWS, ids=[f"{n}-{i}" for n, i in ROWS])
def test_each_fhir_route_admits_exactly_its_roles(client, token, users, name, index, role):
    from lims.services.actions import units

    endpoint = ENDPOINTS[name][index]
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    path = endpoint.path.format(id=unit.id, patient=unit.patient_id, din=unit.din)
    headers = token(role) if role else {}
    response = client.open(f"/fhir{path}", method=endpoint.method, headers=headers)
    assert response.mimetype == "application/fhir+json"
    body = response.get_json()
    if endpoint.allowed == PUBLIC or role in endpoint.allowed:
        assert response.status_code == endpoint.success, body
        assert body["resourceType"] != "OperationOutcome"
        if body["resourceType"] == "Bundle":  # the row's records are found, not only answered
            assert body["total"] == FOUND.get(endpoint.path, 1), body
    else:
        assert response.status_code == 401 if role is None else 403, body
        assert body["resourceType"] == "OperationOutcome"


@pytest.mark.req("P11-5")
def test_the_matrix_covers_every_fhir_route(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/fhir")}
    assert routes == set(ENDPOINTS)


@pytest.mark.req("P11-5")
def test_every_fhir_route_declares_who_may_call_it(app):
    for name, rows in ENDPOINTS.items():
        allowed = getattr(app.view_functions[name], "allowed_roles", "undeclared")
        assert allowed != "undeclared", name
        assert (allowed == PUBLIC) == all(row.allowed == PUBLIC for row in rows), name
