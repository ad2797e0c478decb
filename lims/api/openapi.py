"""The OpenAPI 3.1 document of the API, generated from the code that does the work.

Request schemas come from the lifecycle's own pydantic models (``lims.domain.lifecycle``),
one request shape per action, told apart by ``action``; response schemas from
``lims.api.schemas``, which the views use to build their answers; roles from the
``roles_required`` decorator of each view. Only the list of operations is written here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import models_json_schema

from ..domain.identifiers import MAX_ID
from ..domain.lifecycle import UNIT_ACTIONS, RegisterFields
from ..domain.signatures import ACTION_MEANINGS
from ..services.station.labels import LabelOptions
from ..services.station.scan import MAX_BATCH
from . import (
    account_doc,
    adverse_reactions_doc,
    audit_doc,
    certificates_doc,
    equipment_doc,
    imports_doc,
    outcomes_doc,
    permits_doc,
    printing_doc,
    qc_imports_doc,
    readiness_doc,
    reagents_doc,
    rules_doc,
    scan_schemas,
    schemas,
    shipments_doc,
    sites_doc,
    treatment_doc,
    validation_doc,
)
from .operation import Operation, Rule
from .request_text import describe_request_text

REF = "#/components/schemas/{model}"
PREFIX = "/api/v1"


VERSION = "the unit's version as last seen; a stale one is refused"
SIGNED_VERSION = "the unit's version as the signer saw it: required with a signature"


class _SignsWithPassword(BaseModel):
    """An action that signs only when the password is given (a QA rejection): then the
    version is required too."""

    model_config = ConfigDict(json_schema_extra={"dependentRequired": {"password": ["version"]}})


def _signature(name: str) -> tuple[tuple[type[BaseModel], ...], dict[str, Any]]:
    """Extra bases and fields of a signed action's body: the version, required with its
    password, and the one meaning its signature may carry (``ACTION_MEANINGS``)."""
    action = UNIT_ACTIONS[name]
    if not action.signed:
        return (), {"version": (int | None, Field(None, description=VERSION))}
    meaning = Literal[ACTION_MEANINGS[name]]  # type: ignore[valid-type]
    if action.fields.model_fields["password"].is_required():
        return (), {"version": (int, Field(description=SIGNED_VERSION)), "meaning": (meaning, ...)}
    return (_SignsWithPassword,), {  # present: an integer (null is no version at all)
        "version": (int, Field(None, description=SIGNED_VERSION)),
        "meaning": (meaning | None, None),
    }


def _action_request(name: str) -> type[BaseModel]:
    """The body of ``POST /units/{id}/actions`` for one action: its fields plus the name."""
    action = UNIT_ACTIONS[name]
    roles = ", ".join(sorted(r.value for r in action.roles))
    starts = ", ".join(sorted(s.value for s in action.from_statuses))
    to = action.to_status.value if action.to_status else "unchanged"
    bases, signature = _signature(name)
    return create_model(
        f"{name.title().replace('_', '')}Request",
        __base__=(action.fields, *bases),
        __doc__=f"{action.label}. Roles: {roles}. From: {starts}. To: {to}.",
        action=(Literal[name], ...),
        **signature,
    )


def _action_requests() -> type[RootModel]:
    members = tuple(_action_request(name) for name in UNIT_ACTIONS)
    body = Annotated[Union[members], Field(discriminator="action")]  # noqa: UP007
    return create_model("ActionRequest", __base__=RootModel[body])


UnitIds = Annotated[
    list[int],
    Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="unit ids (one scanned twice: once; one no unit has fails on its own)",
    ),
]


def _batch_request(name: str) -> type[BaseModel]:
    """One action's fields beside the units; no version (each unit is acted on as it is)."""
    action = UNIT_ACTIONS[name]
    return create_model(
        f"Batch{name.title().replace('_', '')}Request",
        __base__=action.fields,
        __doc__=f"{action.label} for each unit, each in its own transaction.",
        action=(Literal[name], ...),
        units=(UnitIds, ...),
    )


def _batch_requests() -> type[RootModel]:
    """``POST /scan/batch``: the unit actions that do not sign (a signature binds to one
    unit's record), each with its own fields."""
    members = tuple(_batch_request(n) for n, a in UNIT_ACTIONS.items() if not a.signed)
    body = Annotated[Union[members], Field(discriminator="action")]  # noqa: UP007
    return create_model("BatchRequest", __base__=RootModel[body])


RESPONSE_MODELS = (
    schemas.TokenOut,
    schemas.UnitPageOut,
    schemas.UnitDetailOut,
    schemas.ActionResultOut,
    schemas.HistoryOut,
    schemas.VerifyOut,
    schemas.QuickVerifyOut,
    schemas.UnitQcOut,
    schemas.SpecsOut,
    schemas.SpecDetailOut,
    schemas.ReleaseQueueOut,
    schemas.NotificationPageOut,
    schemas.NotificationOut,
    schemas.JobOut,
    schemas.ErrorOut,
    scan_schemas.ScanOut,
    scan_schemas.IdentityOut,
    scan_schemas.BatchOut,
)

ERRORS = {
    400: ("BadRequest", "malformed JSON, or the body is not a JSON object"),
    401: ("Unauthorized", "no token, an unknown or expired token, or wrong credentials"),
    403: (
        "Forbidden",
        "the caller's role may not do this, or the caller must first choose their own "
        "password (password_change_required: an admin set it)",
    ),
    404: (
        "NotFound",
        "no such unit, patient, location, notification or job -- the same answer, word for "
        "word, for a unit or patient the caller may not see (a clinician: their own patients)",
    ),
    409: (
        "Conflict",
        "not allowed in the unit's current status, a stale version, or a rule of the lab "
        "(e.g. not_releasable, patient_mismatch, position_occupied)",
    ),
    413: ("TooLarge", "the request body, or the file it carries, is larger than allowed"),
    415: ("UnsupportedMediaType", "the body is not sent as application/json"),
    422: ("Invalid", "invalid data; 'fields' names each wrong field"),
    429: (
        "TooManyRequests",
        "too many failed sign-ins for the username or from the address, or too many wrong "
        "passwords typed again by the caller (signing paused); Retry-After says for how long",
    ),
}


BODY_ERRORS = (400, 415, 422)
STATUS_WORDS = {200: "OK", 201: "Created", 202: "Accepted"}
UNIT_NEXT = ("get_unit", "unit_action", "unit_history", "unit_qc", "unit_label", "unit_report")


def unit_links(pointer: str) -> dict[str, dict[str, str]]:
    """Links to what may be done next with the unit the answer names at ``pointer``."""
    return {name: {"unit_id": f"$response.body#/{pointer}"} for name in UNIT_NEXT}


OPERATIONS = (
    Operation(
        "post",
        "/tokens",
        "create_token",
        "Sign in: a bearer token for a username and password",
        "TokenOut",
        201,
        request="TokenRequest",
        errors=(*BODY_ERRORS, 401, 429),
    ),
    Operation(
        "get",
        "/units",
        "list_units",
        "Units of the patients the caller may see, newest first, filtered and paginated",
        "UnitPageOut",
        query="UnitQuery",
        errors=(401, 422),
        links=unit_links("items/0/id"),
    ),
    Operation(
        "post",
        "/units",
        "register_unit",
        "Register a collection: a new identifier and its source unit",
        "UnitDetailOut",
        201,
        request="RegisterFields",
        errors=(*BODY_ERRORS, 401, 403, 409),
        headers={"Location": "the new unit's address"},
        rules=rules_doc.REGISTER,
        links={
            **unit_links("id"),
            "patient_label": {"patient_id": "$response.body#/patient/id"},
            "book_appointment": {"patient_id": "$response.body#/patient/id"},
        },
    ),
    Operation(
        "get",
        "/units/{unit_id}",
        "get_unit",
        "One unit, with the actions the caller may take now",
        "UnitDetailOut",
        errors=(401, 404),
    ),
    Operation(
        "post",
        "/units/{unit_id}/actions",
        "unit_action",
        "Perform a lifecycle action on a unit; signed actions (release, exceptional_release, "
        "a QA reject) carry the password again and draw on the signer's own signing budget",
        "ActionResultOut",
        request="ActionRequest",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=rules_doc.UNIT_ACTION,
        links={"unit_action": {"unit_id": "$response.body#/products/0/id"}},
    ),
    Operation(
        "get",
        "/units/{unit_id}/history",
        "unit_history",
        "The custody ledger of the unit's whole collection",
        "HistoryOut",
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/units/{unit_id}/qc",
        "unit_qc",
        "A product's QC: every result with the spec version it was judged against and its "
        "verdict, the specs in force, readiness for release and deviations",
        "UnitQcOut",
        errors=(401, 404, 409),
    ),
    Operation(
        "get",
        "/qc/specs",
        "list_qc_specs",
        "QC specifications in force per product type, each with its version history",
        "SpecsOut",
        query="SpecQuery",
        errors=(401, 422),
    ),
    Operation(
        "post",
        "/qc/specs",
        "publish_qc_spec",
        "Publish the next version of one QC specification; old results keep theirs",
        "SpecDetailOut",
        201,
        request="SpecRequest",
        errors=(*BODY_ERRORS, 401, 403),
        rules=rules_doc.SPEC,
    ),
    Operation(
        "get",
        "/release-queue",
        "release_queue",
        "Products waiting for QA (quarantine, returned): readiness, deviations, expiry",
        "ReleaseQueueOut",
        errors=(401, 403),
    ),
    Operation(
        "get",
        "/ledger/verify",
        "verify_ledger",
        "Recompute the ledger's hash chain and name the first break",
        "VerifyOut",
        errors=(401, 403),
    ),
    Operation(
        "get",
        "/ledger/verify/from-receipt",
        "quick_verify_ledger",
        "Quick check from the last intact receipt: only the entries after the newest receipt "
        "the last full, intact verification covered are recomputed, and the answer says so; "
        "409 no_intact_receipt when there is nothing to start from (verify in full)",
        "QuickVerifyOut",
        errors=(401, 403, 409),
    ),
    Operation(
        "post",
        "/scan",
        "scan_code",
        "What a scanned or typed code names: unit (with allowed actions), collection, "
        "patient, location or product code",
        "ScanOut",
        request="ScanRequest",
        errors=(*BODY_ERRORS, 401, 404),
        rules=rules_doc.SCAN,
        links=unit_links("unit/id"),
    ),
    Operation(
        "post",
        "/scan/identity",
        "scan_identity",
        "Wristband against unit: match or mismatch, recorded in the unit's ledger either way",
        "IdentityOut",
        request="IdentityRequest",
        errors=(*BODY_ERRORS, 401, 403, 404),
        rules=rules_doc.IDENTITY,
    ),
    Operation(
        "post",
        "/scan/batch",
        "scan_batch",
        "One action applied to many units, each in its own transaction; a result per unit",
        "BatchOut",
        request="BatchRequest",
        errors=(*BODY_ERRORS, 401, 403),
    ),
    *(
        Operation(
            "get",
            f"/{target}s/{{{target}_id}}/label",
            f"{target}_label",
            f"The {target}'s label: SVG preview, or a PDF (one label a page, or a sheet) / ZPL "
            "print (recorded in the ledger; a reprint needs a reason)",
            None,
            query="LabelOptions",
            errors=(401, 403, 404, 409, 422),
            headers={"X-Label-Action": "print_label or reprint_label, for a print"},
            media=("image/svg+xml", "application/pdf", "text/plain"),
            rules=rules_doc.LABEL,
        )
        for target in ("unit", "patient", "location")
    ),
    Operation(
        "get",
        "/notifications",
        "list_notifications",
        "The caller's in-app inbox, newest first (optionally unread only)",
        "NotificationPageOut",
        query="NotificationQuery",
        errors=(401, 422),
        links={"read_notification": {"notification_id": "$response.body#/items/0/id"}},
    ),
    Operation(
        "post",
        "/notifications/{notification_id}/read",
        "read_notification",
        "Mark one of the caller's notifications read (another user's: 404, nothing changes)",
        "NotificationOut",
        errors=(401, 404),
    ),
    Operation(
        "post",
        "/ledger/verify-jobs",
        "start_verify_job",
        "Start a verification of the whole ledger as a job (for a large ledger); poll the "
        "job at the Location",
        "JobOut",
        202,
        errors=(401, 403, 409),
        headers={"Location": "the job's address: GET it for progress and the verdict"},
        links={"get_job": {"job_id": "$response.body#/id"}},
    ),
    Operation(
        "get",
        "/jobs/{job_id}",
        "get_job",
        "A long job: status, progress of total, and when done the verdict",
        "JobOut",
        errors=(401, 403, 404),
    ),
    Operation("get", "/openapi.json", "openapi_document", "This document", None),
    *readiness_doc.OPERATIONS,
    *audit_doc.OPERATIONS,
    *certificates_doc.OPERATIONS,
    *account_doc.OPERATIONS,
    *equipment_doc.OPERATIONS,
    *permits_doc.OPERATIONS,
    *reagents_doc.OPERATIONS,
    *qc_imports_doc.OPERATIONS,
    *imports_doc.OPERATIONS,
    *validation_doc.OPERATIONS,
    *printing_doc.OPERATIONS,
    *sites_doc.OPERATIONS,
    *shipments_doc.OPERATIONS,
    *treatment_doc.OPERATIONS,
    *adverse_reactions_doc.OPERATIONS,
    *outcomes_doc.OPERATIONS,
)


def _component_schemas() -> dict[str, Any]:
    inputs = [
        (schemas.TokenRequest, "validation"),
        (schemas.UnitQuery, "validation"),
        (schemas.SpecQuery, "validation"),
        (schemas.SpecRequest, "validation"),
        (schemas.NotificationQuery, "validation"),
        (RegisterFields, "validation"),
        (_action_requests(), "validation"),
        (scan_schemas.ScanRequest, "validation"),
        (scan_schemas.IdentityRequest, "validation"),
        (_batch_requests(), "validation"),
        (LabelOptions, "validation"),
        *(
            (model, "validation")
            for model in (
                *readiness_doc.INPUTS,
                *audit_doc.INPUTS,
                *certificates_doc.INPUTS,
                *account_doc.INPUTS,
                *equipment_doc.INPUTS,
                *permits_doc.INPUTS,
                *reagents_doc.INPUTS,
                *qc_imports_doc.INPUTS,
                *imports_doc.INPUTS,
                *validation_doc.INPUTS,
                *printing_doc.INPUTS,
                *sites_doc.INPUTS,
                *shipments_doc.INPUTS,
                *treatment_doc.INPUTS,
                *adverse_reactions_doc.INPUTS,
                *outcomes_doc.INPUTS,
            )
        ),
        *((model, "serialization") for model in RESPONSE_MODELS),
        *(
            (model, "serialization")
            for model in (
                *readiness_doc.OUTPUTS,
                *audit_doc.OUTPUTS,
                *certificates_doc.OUTPUTS,
                *account_doc.OUTPUTS,
                *equipment_doc.OUTPUTS,
                *permits_doc.OUTPUTS,
                *reagents_doc.OUTPUTS,
                *qc_imports_doc.OUTPUTS,
                *imports_doc.OUTPUTS,
                *validation_doc.OUTPUTS,
                *printing_doc.OUTPUTS,
                *sites_doc.OUTPUTS,
                *shipments_doc.OUTPUTS,
                *treatment_doc.OUTPUTS,
                *adverse_reactions_doc.OUTPUTS,
                *outcomes_doc.OUTPUTS,
            )
        ),
    ]
    roots, defs = models_json_schema(inputs, ref_template=REF)
    components = defs["$defs"]
    requests = [
        ref["$ref"].rsplit("/", 1)[-1] for (_, mode), ref in roots.items() if mode == "validation"
    ]
    describe_request_text(components, requests, untrimmed=SECRETS)
    return _mark_secrets(components)


SECRETS = (
    "password",
    "physician_password",
    "current_password",
    "new_password",
    "checked_by_password",
)


def _mark_secrets(components: dict[str, Any]) -> dict[str, Any]:
    """Passwords are sent (validation schemas list them, though no dump ever holds them)
    and never come back: write-only, shown masked by tools that read the document."""
    for schema in components.values():
        for name, prop in schema.get("properties", {}).items():
            if name in SECRETS:
                prop.update(writeOnly=True, format="password")
    return components


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _parameters(op: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"{([^}]+)}", op.path):
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                # What the routes' ``id`` converter accepts (lims.converters).
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            }
        )
    if op.query:
        for name, schema in components[op.query]["properties"].items():
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
    return params


def _security(op: Operation) -> tuple[list[dict[str, list]], str]:
    """Who may call the operation, read from the view's ``roles_required``/``public``."""
    view = current_app.view_functions[f"api.{op.endpoint}"]
    allowed = getattr(view, "allowed_roles", None)
    if allowed == "public":
        return [], "Public."
    roles = "any signed-in user" if allowed is None else ", ".join(sorted(r.value for r in allowed))
    return [{"bearer": []}], f"Roles: {roles}."


def _invalid_with_rules(rules: tuple[Rule, ...]) -> dict[str, Any]:
    """The 422 answer of an operation with rules beyond its schema, naming them."""
    named = "; ".join(f"{rule.field or 'the request'}: {rule.words}" for rule in rules)
    return {
        "description": f"{ERRORS[422][1]}. Also refused, whatever the schema allows: {named}",
        "content": {"application/json": {"schema": _ref("ErrorOut")}},
    }


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    security, who = _security(op)
    content = _ref(op.response) if op.response else {"type": "object"}
    success: dict[str, Any] = {
        "description": STATUS_WORDS[op.status],
        "content": {"application/json": {"schema": content}},
    }
    if op.media:
        binary = {"type": "string", "format": "binary"}
        # With a response schema too, the JSON answer stays beside the media (a certificate).
        json_answer = success["content"] if op.response else {}
        success["content"] = {**json_answer, **{media: {"schema": binary} for media in op.media}}
    if op.links:
        success["links"] = {
            target: {"operationId": target, "parameters": parameters}
            for target, parameters in op.links.items()
        }
    if op.headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in op.headers.items()
        }
    errors = sorted({*op.errors, *((401,) if security else ())})
    result: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": who,
        "security": security,
        "responses": {
            str(op.status): success,
            **{str(code): {**success, "description": STATUS_WORDS[code]} for code in op.also},
            **{str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"} for code in errors},
        },
    }
    if op.rules:
        result["x-rules"] = [
            {"field": rule.field, "codes": list(rule.codes), "rule": rule.words}
            for rule in op.rules
        ]
        result["responses"]["422"] = _invalid_with_rules(op.rules)
    parameters = _parameters(op, components)
    if parameters:
        result["parameters"] = parameters
    if op.request:
        result["requestBody"] = {
            "required": True,
            "content": {op.request_media: {"schema": _ref(op.request)}},
        }
    return result


def _build() -> dict[str, Any]:
    components = _component_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(PREFIX + op.path, {})[op.method] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cell-therapy LIMS API",
            "version": "1",
            "description": "Units from collection to injection, on a tamper-evident custody "
            "ledger. Errors are {'error': {'code', 'message'}}; invalid data adds 'fields'. "
            "No text of a request may hold a control character (tab, newline and return "
            "aside) or a lone surrogate (I-JSON, RFC 7493); white space around a text is "
            "trimmed before its length is checked. A 422 for data the schemas allow comes "
            "only from a rule the operation names (x-rules, and its 422 answer's words).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                name: {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("ErrorOut")}},
                }
                for name, text in ERRORS.values()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from POST /api/v1/tokens",
                }
            },
        },
        "security": [{"bearer": []}],
    }


def document() -> dict[str, Any]:
    """The document, built once per application."""
    cached = current_app.extensions.get("lims_openapi")
    if cached is None:
        cached = current_app.extensions["lims_openapi"] = _build()
    return cached
