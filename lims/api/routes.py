"""The JSON API routes: read the request, call a service, answer with a schema.

Every rule (who may do what, when, with which data) is the services' and the domain's;
these views only translate HTTP to service calls and results to JSON.
"""

from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask_login import current_user

from ..domain.errors import Invalid
from ..domain.lifecycle import UNIT_ACTIONS
from ..domain.roles import Role
from ..errors import json_error
from ..pool import read_only
from ..security import (
    TooManyAttempts,
    public,
    roles_required,
    sign_in,
    signing_throttle,
    too_many,
)
from ..services import access, search
from ..services.actions import units
from ..services.admin import accounts
from ..services.custody import ledger, quick_check
from . import bp, openapi
from .body import body_first, json_object, parse, query
from .respond import json_response
from .schemas import HistoryOut, TokenOut, TokenRequest, UnitPageOut, UnitQuery
from .serialise import (
    action_result_out,
    entry_out,
    quick_verify_out,
    unit_detail_out,
    unit_out,
    user_out,
    verify_out,
)


@bp.post("/tokens")
@public
def create_token():
    """Exchange a username and password for a bearer token; failures are throttled per
    account and per address like the web login (``security.sign_in``)."""
    credentials = parse(TokenRequest, json_object())
    try:
        user = sign_in(credentials.username, credentials.password)
    except TooManyAttempts as exc:
        return too_many(exc)
    if user is None:
        return json_error(401, "unknown username or wrong password", code="invalid_credentials")
    token, record = accounts.issue_token(user)
    return json_response(
        TokenOut(token=token, expires_at=record.expires_at, user=user_out(user)), 201
    )


@bp.get("/units")
@read_only
@roles_required()
def list_units():
    params = query(UnitQuery)
    found = search.search_units(
        params.q or "",
        viewer=current_user._get_current_object(),
        status=params.status,
        unit_type=params.type,
        page=params.page,
        clamp_page=False,
        per_page=params.per_page or current_app.config["UNITS_PER_PAGE"],
    )
    return json_response(
        UnitPageOut(
            items=[unit_out(u) for u in found.items],
            page=found.page,
            per_page=found.per_page,
            total=found.total,
        )
    )


@bp.post("/units")
@roles_required(Role.CLINICIAN, Role.TECHNICIAN)
def register_unit():
    clerk = current_user._get_current_object()
    result = units.register(json_object(), clerk)
    location = url_for("api.get_unit", unit_id=result.unit.id)
    return json_response(unit_detail_out(result.unit, clerk), 201, Location=location)


@bp.get("/units/<id:unit_id>")
@read_only
@roles_required()
def get_unit(unit_id: int):
    viewer = current_user._get_current_object()  # the proxy resolved once, not per use
    unit = access.require_unit(viewer, unit_id, to_show=True)
    return json_response(unit_detail_out(unit, viewer))


def _carries_signature(name: str, body: dict) -> bool:
    """Release and exceptional release always sign; a rejection signs when QA gives the
    password (a technician's at receipt does not)."""
    action = UNIT_ACTIONS.get(name)
    return action is not None and action.signed and body.get("password") is not None


def _expected_version(name: str, body: dict) -> int | None:
    """The unit's version the caller last saw; required when the body carries a signature,
    so that a signature never covers a state its signer did not see (a stale one is 409)."""
    version = body.pop("version", None)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise Invalid(
            "version must be the unit's version number (an integer)",
            code="invalid_fields",
            fields={"version": "must be an integer"},
        )
    if version is None and _carries_signature(name, body):
        raise Invalid(
            "a signature covers the unit as you saw it: send the unit's version with it",
            code="version_required",
            fields={"version": "required with a signature: the unit's version as you saw it"},
        )
    return version


@bp.post("/units/<id:unit_id>/actions")
@roles_required()
@body_first
@signing_throttle
def unit_action(unit_id: int):
    """``{"action": name, "version": n, ...fields}``; the service decides if it is allowed."""
    body = json_object()
    name = body.pop("action", None)
    if not isinstance(name, str):
        raise Invalid(
            'name the action to perform, e.g. {"action": "receive", ...}',
            code="invalid_fields",
            fields={"action": "required: the name of an action"},
        )
    version = _expected_version(name, body)
    actor = current_user._get_current_object()
    result = units.perform_action(unit_id, name, body, actor, expected_version=version)
    return json_response(action_result_out(result, actor))


@bp.get("/units/<id:unit_id>/history")
@roles_required()
def unit_history(unit_id: int):
    unit = access.require_unit(current_user._get_current_object(), unit_id)
    entries = ledger.history(units.lineage_ids(unit))
    return json_response(
        HistoryOut(unit_id=unit.id, identifier=unit.din, entries=[entry_out(e) for e in entries])
    )


@bp.get("/ledger/verify")
@roles_required(Role.QA)
def verify_ledger():
    return json_response(verify_out(ledger.verify()))


@bp.get("/ledger/verify/from-receipt")
@roles_required(Role.QA, Role.ADMIN)
def quick_verify_ledger():
    """Only the entries after the last receipt a full, intact verification covered; 409
    ``no_intact_receipt`` saying why when there is none (then verify in full)."""
    found = quick_check.verify_from_receipt(current_user._get_current_object())
    return json_response(quick_verify_out(found))


@bp.get("/openapi.json")
@public
def openapi_document():
    return jsonify(openapi.document())
