"""Every API route × every role, and anonymous: allowed, 401 or 403 as designed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.backends import backend  # noqa: F401  (SQLite alone: which role reaches which operation)
from tests.conftest import ACTION_DATA, PASSWORD, USERNAMES, registration
from tests.rows import a_job, a_notification
from tests.service.lab import CABINET

from . import (
    access_admin,
    access_audit,
    access_certificates,
    access_equipment,
    access_imports,
    access_outcomes,
    access_printing,
    access_qc_imports,
    access_reactions,
    access_readiness,
    access_reagents,
    access_shipments,
    access_sites,
    access_treatment,
    access_validation,
)
from .access import PUBLIC, Endpoint
from .helpers import assert_error

ROLES = ("technician", "clinician", "qa", "admin")
EVERYONE = frozenset(ROLES)


ENDPOINTS = {
    "api.create_token": Endpoint("POST", "/tokens", PUBLIC, 201),
    # The caller's own token and password (open while a password change is required too).
    "api.revoke_token": Endpoint("POST", "/tokens/revoke", EVERYONE, body=lambda: None),
    "api.change_my_password": Endpoint(
        "POST",
        "/me/password",
        EVERYONE,
        body=lambda: {"current_password": PASSWORD, "new_password": "harbour-lantern-quartz"},
    ),
    "api.list_units": Endpoint("GET", "/units", EVERYONE),
    "api.register_unit": Endpoint(
        "POST", "/units", frozenset({"technician", "clinician"}), 201, registration
    ),
    "api.get_unit": Endpoint("GET", "/units/{id}", EVERYONE),
    # QA permits equipment the register refuses; the bench's cabinet is usable: 409 says so.
    "api.permit_equipment": Endpoint(
        "POST",
        "/units/{id}/equipment-permits",
        frozenset({"qa"}),
        409,
        lambda: {"equipment": CABINET, "reason": "checked by QA"},
    ),
    # Any signed-in user may call it; the lifecycle decides per action (dispatch: C, T).
    "api.unit_action": Endpoint(
        "POST",
        "/units/{id}/actions",
        frozenset({"technician", "clinician"}),
        body=lambda: {"action": "dispatch", "courier": "A", "transport_condition": "cool"},
    ),
    "api.unit_history": Endpoint("GET", "/units/{id}/history", EVERYONE),
    "api.unit_qc": Endpoint("GET", "/units/{product}/qc", EVERYONE),
    "api.list_qc_specs": Endpoint("GET", "/qc/specs?type=SVF", EVERYONE),
    "api.publish_qc_spec": Endpoint(
        "POST",
        "/qc/specs",
        frozenset({"admin"}),
        201,
        body=lambda: {
            "product_type": "PRP",
            "test": "platelet_count",
            "operator": ">=",
            "limit": 1500,
            "reason": "route and role check",
        },
    ),
    "api.release_queue": Endpoint("GET", "/release-queue", frozenset({"qa"})),
    "api.verify_ledger": Endpoint("GET", "/ledger/verify", frozenset({"qa"})),
    # Nothing to start from in this table's database (no full verification): 409 says so.
    "api.quick_verify_ledger": Endpoint(
        "GET", "/ledger/verify/from-receipt", frozenset({"qa", "admin"}), 409
    ),
    "api.openapi_document": Endpoint("GET", "/openapi.json", PUBLIC),
    # Starts a job (202); {job}: a verification QA started and a worker finished.
    "api.start_verify_job": Endpoint(
        "POST", "/ledger/verify-jobs", frozenset({"qa", "admin"}), 202, body=lambda: None
    ),
    "api.get_job": Endpoint("GET", "/jobs/{job}", frozenset({"qa", "admin"})),
    # Label previews (SVG, the default) are not prints; the roles are those who may print.
    "api.unit_label": Endpoint(
        "GET", "/units/{id}/label", frozenset({"technician", "qa", "admin"})
    ),
    "api.patient_label": Endpoint(
        "GET", "/patients/{patient}/label", frozenset({"technician", "clinician", "qa"})
    ),
    "api.location_label": Endpoint(
        "GET", "/locations/{location}/label", frozenset({"technician", "qa", "admin"})
    ),
    "api.scan_code": Endpoint("POST", "/scan", EVERYONE, body=lambda: {"code": "{barcode}"}),
    "api.scan_identity": Endpoint(
        "POST",
        "/scan/identity",
        frozenset({"technician", "clinician"}),
        body=lambda: {"wristband": "{wristband}", "unit": "{barcode}"},
    ),
    # Any signed-in user may call it; the action's roles decide (discard: T, Q).
    "api.scan_batch": Endpoint(
        "POST",
        "/scan/batch",
        frozenset({"technician", "qa"}),
        body=lambda: {"units": ["{id}"], "action": "discard", "reason": "batch test"},
    ),
    # The caller's own inbox; {notification}: a message in the caller's inbox.
    "api.list_notifications": Endpoint("GET", "/notifications?unread=true", EVERYONE),
    "api.read_notification": Endpoint(
        "POST", "/notifications/{notification}/read", EVERYONE, body=lambda: None
    ),
    # Each area keeps its rows in a module of its own.
    **access_readiness.ENDPOINTS,
    **access_audit.ENDPOINTS,
    **access_certificates.ENDPOINTS,
    **access_admin.ENDPOINTS,
    **access_equipment.ENDPOINTS,
    **access_printing.ENDPOINTS,
    **access_shipments.ENDPOINTS,
    **access_reagents.ENDPOINTS,
    **access_qc_imports.ENDPOINTS,
    **access_imports.ENDPOINTS,
    **access_outcomes.ENDPOINTS,
    **access_validation.ENDPOINTS,
    **access_sites.ENDPOINTS,
    **access_treatment.ENDPOINTS,
    **access_reactions.ENDPOINTS,
}
# Placeholders an area's paths name, beyond the ones below: name -> maker(users, role, unit).
ROWS = {
    **access_readiness.ROWS,
    **access_audit.ROWS,
    **access_certificates.ROWS,
    **access_admin.ROWS,
    **access_equipment.ROWS,
    **access_printing.ROWS,
    **access_shipments.ROWS,
    **access_reagents.ROWS,
    **access_qc_imports.ROWS,
    **access_imports.ROWS,
    **access_outcomes.ROWS,
    **access_validation.ROWS,
    **access_sites.ROWS,
    **access_treatment.ROWS,
    **access_reactions.ROWS,
}


def _fill(body: Any, unit) -> Any:
    """Put the fresh unit's id, barcode and wristband where a body names them."""
    if isinstance(body, dict):
        return {k: _fill(v, unit) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, unit) for v in body]
    if body == "{id}":
        return unit.id
    if isinstance(body, str):
        return body.format(barcode=unit.barcode_data, wristband=unit.patient.wristband)
    return body


def _location_id() -> int:
    from lims.domain.codes import make_location_code
    from lims.extensions import db
    from lims.models import Location

    box = Location(code=make_location_code("C0001", 1), name="Box 1", kind="box")
    db.session.add(box)
    db.session.commit()
    return box.id


def _product_id(unit, technician) -> int:
    """Take the fresh collection through processing (as a technician): its product's id."""
    from lims.services.actions import units

    for action in ("receive", "start_processing", "complete_processing"):
        data = ACTION_DATA[action](unit.unit_type)
        result = units.perform_action(unit.id, action, data, technician)
    return result.products[0].id


def _call(api, endpoint: Endpoint, role: str | None, unit, users):
    location = _location_id() if "{location}" in endpoint.path else None
    product = _product_id(unit, users["technician"]) if "{product}" in endpoint.path else None
    notification = (
        a_notification(users[role or "technician"])[1]
        if "{notification}" in endpoint.path
        else None
    )
    job = a_job(users["qa"]) if "{job}" in endpoint.path else None
    extra = {
        name: make(users, role, unit)
        for name, make in ROWS.items()
        if f"{{{name}}}" in endpoint.path
    }
    path = endpoint.path.format(
        **extra,
        id=unit.id,
        patient=unit.patient.id,
        location=location,
        product=product,
        notification=notification,
        job=job,
    )
    if endpoint.path == "/tokens":  # signing in: the credentials are the caller's
        username = USERNAMES[role or "technician"]
        return api.post(path, {"username": username, "password": PASSWORD}, as_=None)
    if endpoint.method == "GET":
        return api.get(path, as_=role)
    body = _fill(endpoint.body(), unit)
    if isinstance(body, dict) and any(isinstance(v, tuple) for v in body.values()):  # a file
        return api.post(path, as_=role, data=body, content_type="multipart/form-data")
    return api.post(path, body, as_=role)


@pytest.mark.req("P11-5")
@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "anonymous"])
@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_each_route_admits_exactly_its_roles(api, register, users, name, role):
    endpoint = ENDPOINTS[name]
    unit = register("ADIPOSE")
    response = _call(api, endpoint, role, unit, users)
    if endpoint.allowed == PUBLIC or role in endpoint.allowed:
        assert response.status_code == endpoint.success, response.get_json()
    elif role is None:
        assert_error(response, 401, "unauthorized")
    else:
        assert_error(response, 403)


@pytest.mark.req("P11-5")
def test_the_matrix_covers_every_api_route(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert routes == set(ENDPOINTS)


@pytest.mark.req("P11-5")
def test_every_api_route_declares_who_may_call_it(app):
    for name in ENDPOINTS:
        view = app.view_functions[name]
        allowed = getattr(view, "allowed_roles", "undeclared")
        assert allowed != "undeclared", name
        assert (allowed == PUBLIC) == (ENDPOINTS[name].allowed == PUBLIC), name


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Basic dGVjaDp0ZXN0LXBhc3MtMTIzNA==",
        "Token abc",
        "Bearer " + "x" * 5000,
    ],
)
def test_without_a_valid_bearer_token_the_api_answers_401(client, users, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/api/v1/units", headers=headers)
    error = assert_error(response, 401, "unauthorized")
    assert "Bearer" in error["message"]


def test_a_web_session_does_not_open_the_api(login):
    client = login("technician")
    assert client.get("/units/").status_code == 200
    assert_error(client.get("/api/v1/units"), 401)


def test_a_deactivated_users_token_stops_working(api, users):
    from lims.extensions import db

    assert api.get("/units", as_="clinician").status_code == 200
    users["clinician"].active = False
    db.session.commit()
    assert_error(api.get("/units", as_="clinician"), 401)
