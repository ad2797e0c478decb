"""The API route × role table taken down to the record (decision 61): every endpoint that
reads or acts on a patient or a unit, called by each person of the cast
(``tests/access_cast.py``). Whoever may see Pia Private is answered (or refused by role, the
same for every patient); the clinician named nowhere on her gets the very 404 an unknown id
gets, in the one error shape, and nothing changes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from lims.models.types import utcnow
from tests.access_cast import CLINICIANS, NAME, PERSONAS, SEE, Cast, make_cast
from tests.backends import backend  # noqa: F401  (SQLite alone: the API's answers; who sees what is tested on both in tests/service/test_patient_access.py)
from tests.conftest import PASSWORD

from .conftest import Api
from .helpers import assert_error

EVERYONE = frozenset(PERSONAS)
COLLECTORS = frozenset({*CLINICIANS, "technician"})  # dispatch, the identity check
PRINTERS = frozenset({"technician", "qa", "admin"})
WRISTBAND_PRINTERS = frozenset({*CLINICIANS, "technician", "qa"})
DISPATCH = {"courier": "Courier A", "transport_condition": "cool box"}


def _later(days: int = 2) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


# name -> (method, path, body, who may use the endpoint at all, answer when allowed).
# Reads first; each write acts on a record no earlier row needs.
ENDPOINTS: dict[str, tuple[str, str, Any, frozenset[str], int]] = {
    "unit": ("GET", "/units/{unit}", None, EVERYONE, 200),
    "history": ("GET", "/units/{unit}/history", None, EVERYONE, 200),
    "product QC": ("GET", "/units/{product}/qc", None, EVERYONE, 200),
    "unit label": ("GET", "/units/{unit}/label", None, PRINTERS, 200),
    "wristband label": ("GET", "/patients/{patient}/label", None, WRISTBAND_PRINTERS, 200),
    "scan unit": ("POST", "/scan", {"code": "{barcode}"}, EVERYONE, 200),
    "scan wristband": ("POST", "/scan", {"code": "{wristband}"}, EVERYONE, 200),
    "identity check": (
        "POST",
        "/scan/identity",
        {"wristband": "{wristband}", "unit": "{barcode}"},
        COLLECTORS,
        200,
    ),
    "dispatch": (
        "POST",
        "/units/{unit}/actions",
        {"action": "dispatch", **DISPATCH},
        COLLECTORS,
        200,
    ),
    "batch dispatch": (
        "POST",
        "/scan/batch",
        {"units": ["{spare}"], "action": "dispatch", **DISPATCH},
        COLLECTORS,
        200,
    ),
    # Only the treating clinician books or moves; a clinician who sees her but does not
    # treat her is told so (403 not_your_patient).
    "book": (
        "POST",
        "/patients/{patient}/appointments",
        {"kind": "collection", "scheduled_at": "{later}"},
        frozenset(CLINICIANS),
        201,
    ),
    "move": (
        "POST",
        "/appointments/{appointment}/move",
        {"scheduled_at": "{later}"},
        frozenset(CLINICIANS),
        200,
    ),
}
TREATING_ONLY = {"book", "move"}
# A batch answers 200 with a result per unit: a unit not seen fails as an unknown one does.
PER_ITEM = {"batch dispatch"}


def expected(name: str, persona: str) -> int:
    _, _, _, allowed, answer = ENDPOINTS[name]
    if persona not in allowed:
        return 403  # the endpoint's (or the action's) roles: the same for every patient
    if persona not in SEE and name not in PER_ITEM:
        return 404
    if name in TREATING_ONLY and persona != "treating":
        return 403
    return answer


def _values(cast: Cast) -> dict[str, Any]:
    return {
        "patient": cast.patient.id,
        "unit": cast.fresh.id,
        "product": cast.product.id,
        "spare": cast.spare.id,
        "appointment": cast.appointment.id,
        "barcode": cast.fresh.barcode_data,
        "wristband": cast.patient.wristband,
        "later": _later(),
    }


def _fill(body: Any, values: dict[str, Any]) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, values) for v in body]
    if body == "{spare}":
        return values["spare"]
    if isinstance(body, str):
        return body.format(**values)
    return body


def _call(api: Api, name: str, persona: str, values: dict[str, Any]):
    method, path, body, _, _ = ENDPOINTS[name]
    if method == "GET":
        return api.get(path.format(**values), as_=persona)
    return api.post(path.format(**values), _fill(body, values), as_=persona)


@pytest.fixture
def cast(users) -> Cast:
    return make_cast(users)


@pytest.fixture
def api(client, cast) -> Api:
    """Calls as a person of the cast (their username)."""

    def token(persona: str) -> dict[str, str]:
        username = cast.people[persona].username
        response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return Api(client, token, {})


@pytest.mark.req("LIMS-3")
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_person_gets_exactly_what_they_may_see(api, cast, persona):
    values = _values(cast)
    answers = {name: _call(api, name, persona, values) for name in ENDPOINTS}
    assert {name: r.status_code for name, r in answers.items()} == {
        name: expected(name, persona) for name in ENDPOINTS
    }
    batch = answers["batch dispatch"]
    if batch.status_code == 200:
        (item,) = batch.get_json()["results"]
        assert item["ok"] is (persona in SEE), item
    for name, response in answers.items():
        if response.status_code == 404:
            assert_error(response, 404)
        if persona not in SEE:
            assert NAME not in response.get_data(as_text=True), name


def test_the_stranger_changes_nothing_of_hers(api, cast, state):
    before = state()
    values = _values(cast)
    for name in ("dispatch", "batch dispatch", "book", "move"):
        _call(api, name, "stranger", values)
    assert state() == before
    (item,) = _call(api, "batch dispatch", "stranger", values).get_json()["results"]
    assert item["error"] == {"code": "not_found", "message": f"no unit with id {cast.spare.id}"}


UNKNOWN = {"patient": 999_999, "unit": 999_999, "product": 999_999, "appointment": 999_999}


@pytest.mark.parametrize(
    "name", ["unit", "history", "product QC", "wristband label", "dispatch", "book", "move"]
)
def test_a_refusal_is_word_for_word_the_answer_to_an_unknown_id(api, cast, name):
    values = _values(cast)
    refused = _call(api, name, "stranger", values)
    missing = _call(api, name, "stranger", {**values, **UNKNOWN})
    known = {str(values[k]) for k in UNKNOWN}
    error = assert_error(refused, 404)
    same = assert_error(missing, 404)
    text = error["message"]
    for ident in known:  # whole numbers only: "id 9" is not the start of "id 90"
        text = re.sub(rf"\bid {ident}\b", "id 999999", text)
    assert {**error, "message": text} == same


def test_scanning_her_codes_reads_like_unknown_codes(api, cast):
    unit = assert_error(api.post("/scan", {"code": cast.fresh.barcode_data}, as_="stranger"), 404)
    band = assert_error(api.post("/scan", {"code": cast.patient.wristband}, as_="stranger"), 404)
    assert unit["code"] == "unknown_identifier"
    assert band["code"] == "unknown_wristband"
    assert band["message"] == f"no patient has wristband {cast.patient.wristband}"


@pytest.mark.parametrize("persona", ["treating", "granted", "technician", "qa", "stranger"])
def test_the_units_list_counts_only_units_of_patients_seen(api, cast, persona):
    for query in ("", f"?q={NAME.split()[1]}", f"?q={cast.patient.mrn}"):
        page = api.get(f"/units{query}", as_=persona).get_json()
        shown = {item["id"] for item in page["items"]}
        mine = {cast.source.id, cast.product.id, cast.fresh.id, cast.spare.id}
        assert (shown == mine) is (persona in SEE), query
        assert page["total"] == (4 if persona in SEE else 0), query


def test_a_clinicians_board_holds_their_own_patients_only(api, cast):
    mine = api.get("/readiness", as_="treating").get_json()
    theirs = api.get("/readiness", as_="stranger").get_json()
    assert [p["name"] for p in mine["patients"]] == [NAME]
    assert theirs["patients"] == [] and theirs["quiet"] == 0
