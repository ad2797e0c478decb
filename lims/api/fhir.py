"""Read-only FHIR R4 under /fhir (decisions 107 and 108, docs/fhir.md).

The API's bearer tokens and object-level rules (``services.fhir.read`` reads through
``access``); answers are ``application/fhir+json``; a refusal is an OperationOutcome with its
4xx (``errors.py`` answers every error under /fhir so). The CapabilityStatement at
``/fhir/metadata`` is public and is what documents these endpoints (not the OpenAPI document).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, request
from flask_login import current_user

from ..pool import read_only
from ..security import public, roles_required
from ..services.fhir import read, resources

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
CAPABILITY_DATE = "2026-12-07"


def init_app(app: Flask) -> None:
    from ..extensions import csrf

    csrf.exempt(bp)  # bearer tokens, never cookies; and only GET
    app.register_blueprint(bp)


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str):
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n",
        status=status,
        mimetype=resources.MEDIA_TYPE,
    )
    response.headers.update(headers)
    return response


def base_url() -> str:
    return request.host_url.rstrip("/") + bp.url_prefix


def _entry(resource: dict[str, Any], mode: str = "match") -> dict[str, Any]:
    url = f"{base_url()}/{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": url, "resource": resource, "search": {"mode": mode}}


def _link(relation: str, kind: str, params: list[tuple[str, str]]) -> dict[str, str]:
    query = urlencode(params)
    return {"relation": relation, "url": f"{base_url()}/{kind}" + (f"?{query}" if query else "")}


def bundle(entries: list[dict[str, Any]], total: int, links: list[dict[str, str]]):
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": entries,
        }
    )


def _capability() -> dict[str, Any]:
    types = []
    for kind in read.TYPES:
        params = [
            {
                "name": name,
                "type": "reference" if name == "patient" else "token",
                "documentation": words,
            }
            for name, words in read.SEARCH_PARAMS[kind].items()
        ]
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": params,
        }
        if kind == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    "documentation": "the patient with every collection, product, "
                    "administration and outcome Observation of theirs the reader may see",
                }
            ]
        types.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": current_app.config.get("FACILITY_NAME") or "Cell LIMS",
        "kind": "instance",
        "software": {"name": "Cell LIMS"},
        "implementation": {"description": "Cell LIMS read-only FHIR", "url": base_url()},
        "fhirVersion": resources.FHIR_VERSION,
        "format": [resources.MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Search results are pages of _count (default "
                f"{read.DEFAULT_COUNT}, at most {read.MAX_COUNT}) from _offset.",
                "security": {
                    "description": "Send 'Authorization: Bearer <token>' with a token from "
                    "POST /api/v1/tokens. A reader sees what the API shows them: a clinician "
                    "their own patients, everyone the units of their sites.",
                },
                "resource": types,
            }
        ],
    }


@bp.get("/metadata")
@public
def capability_statement():
    """What this server reads and searches (FHIR's CapabilityStatement); no token needed."""
    return fhir_response(_capability())


@bp.get("/<kind>")
@read_only
@roles_required()
def search(kind: str):
    """A searchset Bundle of the resources of ``kind`` matching the query, that the reader may see."""
    params = {name: request.args.getlist(name) for name in request.args}
    page = read.search(current_user._get_current_object(), kind, params)
    kept = [(k, v) for k, vs in params.items() if k not in read.PAGING for v in vs]
    paging = [("_count", str(page.count))]
    links = [_link("self", kind, [*kept, *paging, ("_offset", str(page.offset))])]
    if page.offset + page.count < page.total:
        links.append(
            _link("next", kind, [*kept, *paging, ("_offset", str(page.offset + page.count))])
        )
    return bundle([_entry(r) for r in page.resources], page.total, links)


@bp.get("/<kind>/<ident>")
@read_only
@roles_required()
def read_resource(kind: str, ident: str):
    """One resource by its id."""
    return fhir_response(read.read(current_user._get_current_object(), kind, ident))


@bp.get("/Patient/<ident>/$everything")
@read_only
@roles_required()
def patient_everything(ident: str):
    """One patient's course as a Bundle: the patient, collections, products, administrations."""
    found = read.everything(current_user._get_current_object(), ident)
    entries = [_entry(r, "match" if i == 0 else "include") for i, r in enumerate(found)]
    links = [{"relation": "self", "url": f"{base_url()}/Patient/{ident}/$everything"}]
    return bundle(entries, len(entries), links)
