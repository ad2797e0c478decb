"""Reagent lots over the API (/api/v1/reagent-lots): answers as the OpenAPI document says,
QA's signed acceptance (a wrong password changes nothing and counts against the signer),
the recall look-up, refusals in the one error shape with nothing written, and what the API
refuses for its shape refused by the document too (or named as a rule)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.helpers import assert_error
from tests.api.test_api_document_exact import allows, body_schema, rule_fields
from tests.backends import backend  # noqa: F401  (SQLite alone: the API's answers and shapes; the lot rules are tested on both in test_reagent_service)
from tests.conftest import PASSWORD

from .conftest import check
from .reagent_lab import accepted, lot_fields, receive, stored, today, use_on

LOTS = "/reagent-lots"


def approve(password: str = PASSWORD) -> dict[str, str]:
    return {"password": password, "meaning": "approved"}


# ---------------------------------------------------------------------------- the happy path


def test_receive_accept_and_read_a_lot(api, doc, users):
    received = check(doc, api.post(LOTS, lot_fields()), LOTS, "post", 201)
    assert received["state"] == "awaiting" and received["usable"] is False
    assert received["code"].startswith("RT0001") and received["accepted_by"] is None
    lot_id = received["id"]

    response = api.post(f"{LOTS}/{lot_id}/accept", approve(), as_="qa")

    decided = check(doc, response, "/reagent-lots/{lot_id}/accept", "post", 200)
    assert decided["state"] == "usable" and decided["usable"] is True
    assert decided["accepted_by"] == {"id": users["qa"].id, "name": "Test Qa"}
    assert decided["acceptance_entry_id"] is not None
    fetched = check(doc, api.get(f"{LOTS}/{lot_id}"), "/reagent-lots/{lot_id}", "get", 200)
    assert fetched == decided


def test_the_new_lots_address_is_in_location(api, users):
    response = api.post(LOTS, lot_fields(), as_="qa")
    assert response.headers["Location"].endswith(
        f"/api/v1/reagent-lots/{response.get_json()['id']}"
    )


def test_the_list_filters_and_pages(api, doc, users):
    ours = [receive(users, lot_number=f"P-{n}", reagent="diluent").id for n in range(3)]
    first = check(
        doc, api.get(f"{LOTS}?reagent=diluent&state=awaiting&per_page=2"), LOTS, "get", 200
    )
    second = api.get(f"{LOTS}?reagent=diluent&state=awaiting&per_page=2&page=2").get_json()
    assert first["total"] == 3 and [i["id"] for i in first["items"] + second["items"]] == ours[::-1]
    usable = api.get(f"{LOTS}?state=usable&per_page=100").get_json()
    assert usable["items"] and all(i["state"] == "usable" for i in usable["items"])


def test_qa_rejects_with_a_reason(api, doc, users):
    lot = receive(users)
    body = {"reason": "CoA missing", "password": PASSWORD, "meaning": "rejected"}
    response = api.post(f"{LOTS}/{lot.id}/reject", body, as_="qa")
    rejected = check(doc, response, "/reagent-lots/{lot_id}/reject", "post", 200)
    assert rejected["state"] == "rejected" and rejected["flagged"] == "rejected"


def test_the_recall_look_up_names_units_and_patients(api, doc, users, register, act):
    lot = accepted(users)
    source = register("ADIPOSE", mrn="MRN-42", name="Recall Patient")
    use_on(source, lot, step="wash", quantity=2.5)

    found = check(
        doc,
        api.get(f"{LOTS}/{lot.id}/units?per_page=10", as_="qa"),
        "/reagent-lots/{lot_id}/units",
        "get",
        200,
    )

    assert (found["total"], found["direct"], found["patients"]) == (1, 1, 1)
    assert found["lot"]["id"] == lot.id
    (item,) = found["items"]
    assert item["id"] == source.id and item["direct"] is True and item["via_unit_id"] is None
    assert item["patient"]["mrn"] == "MRN-42" and item["patient"]["name"] == "Recall Patient"
    assert [(u["step"], u["quantity"]) for u in item["uses"]] == [("wash", 2.5)]


# ---------------------------------------------------------------------------- refusals


def test_a_wrong_password_changes_nothing(api, users):
    lot = receive(users)
    before = stored()
    assert_error(
        api.post(f"{LOTS}/{lot.id}/accept", approve("guess"), as_="qa"), 422, "wrong_password"
    )
    assert stored() == before


def test_wrong_passwords_pause_the_signers_signing(app, api, users):
    app.config["SIGNING_THROTTLE"] = "2 per minute"
    lot = receive(users)
    for n in range(2):
        assert_error(api.post(f"{LOTS}/{lot.id}/accept", approve(f"g{n}"), as_="qa"), 422)

    blocked = api.post(f"{LOTS}/{lot.id}/accept", approve(), as_="qa")

    assert_error(blocked, 429, "too_many_requests")
    assert int(blocked.headers["Retry-After"]) > 0
    assert api.get(f"{LOTS}/{lot.id}").get_json()["state"] == "awaiting"
    assert api.post(LOTS, lot_fields(lot_number="other"), as_="qa").status_code == 201


@pytest.mark.parametrize(
    ("make", "as_", "status", "code"),
    [
        (lambda users: receive(users, as_="qa"), "qa", 409, "two_person_rule"),
        (lambda users: accepted(users), "qa", 409, "already_accepted"),
        (lambda users: receive(users), "technician", 403, None),
    ],
)
def test_an_acceptance_that_may_not_be_signed_is_refused(api, users, make, as_, status, code):
    lot = make(users)
    before = stored()
    assert_error(api.post(f"{LOTS}/{lot.id}/accept", approve(), as_=as_), status, code)
    assert stored() == before


def test_a_duplicate_receipt_is_409(api, users):
    receive(users)
    before = stored()
    assert_error(api.post(LOTS, lot_fields()), 409, "duplicate_lot")
    assert stored() == before


@pytest.mark.parametrize(
    "path",
    [f"{LOTS}/999999", f"{LOTS}/999999/units", f"{LOTS}/0"],
)
def test_an_unknown_lot_is_404(api, users, path):
    assert_error(api.get(path), 404)


@pytest.mark.parametrize(
    "query",
    [
        "state=lost",
        "reagent=coffee",
        "page=0",
        "per_page=101",
        "colour=blue",
        "state=all&state=usable",
    ],
)
def test_a_bad_list_query_is_refused(api, users, query):
    assert_error(api.get(f"{LOTS}?{query}"), 422)


# What the API refuses in a receipt: each refused by the document too, or named as a rule.
RECEIPT_MISTAKES = [
    ("reagent", "coffee"),
    ("reagent", None),
    ("product_name", ""),
    ("product_name", "   "),
    ("product_name", "x" * 121),
    ("product_name", 42),
    ("manufacturer", "Nord\x07mark"),
    ("lot_number", "L" * 61),
    ("expires_on", "2027-02-30"),
    ("expires_on", "next year"),
    ("expires_on", 1_800_000_000),
    ("expires_on", "past"),  # yesterday: a rule
    ("expires_on", "decades"),  # a typing mistake: a rule
    ("storage", "in the car"),
    ("quantity", 0),
    ("quantity", -1),
    ("quantity", "10"),
    ("quantity", 1e-9),
    ("quantity", 2_000_000),
    ("quantity", True),
    ("quantity_unit", "litre"),
    ("coa_ref", None),
    ("colour", "blue"),
]
RULES = {("expires_on", "past"), ("expires_on", "decades")}


def _mistake(field: str, value: Any) -> dict[str, Any]:
    if value == "past":
        value = (today() - timedelta(days=1)).isoformat()
    elif value == "decades":
        value = (today() + timedelta(days=366 * 11)).isoformat()
    body = lot_fields()
    if value is None:
        body.pop(field)
    else:
        body[field] = value
    return body


@pytest.mark.parametrize(("field", "value"), RECEIPT_MISTAKES)
def test_a_bad_receipt_is_refused_on_its_field_and_by_the_document(api, doc, users, field, value):
    body = _mistake(field, value)
    before = stored()

    refused = assert_error(api.post(LOTS, body), 422)

    assert field in refused.get("fields", {}), refused
    assert stored() == before
    schema = body_schema(doc, "/api/v1/reagent-lots")
    if (field, value) in RULES:
        assert allows(doc, schema, body)
        assert field in rule_fields(doc, "/api/v1/reagent-lots")
    else:
        assert not allows(doc, schema, body), f"the document takes {field}={value!r}"


def test_the_good_receipt_and_signatures_are_allowed_by_the_document(doc):
    assert allows(doc, body_schema(doc, "/api/v1/reagent-lots"), lot_fields())
    accept = body_schema(doc, "/api/v1/reagent-lots/{lot_id}/accept")
    assert allows(doc, accept, approve())
    assert not allows(doc, accept, {"password": PASSWORD, "meaning": "approved for release"})
    reject = body_schema(doc, "/api/v1/reagent-lots/{lot_id}/reject")
    assert allows(doc, reject, {"reason": "x", "password": PASSWORD, "meaning": "rejected"})
    assert not allows(doc, reject, {"reason": "  ", "password": PASSWORD, "meaning": "rejected"})


@pytest.mark.parametrize(
    "body",
    [
        {"password": PASSWORD},
        {"password": "", "meaning": "approved"},
        {"password": PASSWORD, "meaning": "rejected"},
        {"password": PASSWORD, "meaning": "approved", "extra": 1},
    ],
)
def test_a_bad_acceptance_body_is_refused_and_changes_nothing(api, doc, users, body):
    lot = receive(users)
    before = stored()
    assert_error(api.post(f"{LOTS}/{lot.id}/accept", body, as_="qa"), 422)
    assert stored() == before
    assert not allows(doc, body_schema(doc, "/api/v1/reagent-lots/{lot_id}/accept"), body)


def test_a_body_that_is_not_json_is_refused(api, users):
    lot = receive(users)
    response = api.client.post(
        f"/api/v1{LOTS}/{lot.id}/accept", data="password=x", headers=api.headers("qa")
    )
    assert_error(response, 415)
