"""The route × role table taken down to the record (decision 61): every browser route that
shows a patient or a unit, walked by each person of the cast (``tests/access_cast.py``).
Whoever may see Pia Private gets the page (or the refusal their role always gets, which
says nothing about her); the clinician named nowhere on her gets the very 404 an unknown
record gets, and never her name."""

from __future__ import annotations

import pytest

from tests.access_cast import NAME, PERSONAS, SEE, Cast, make_cast
from tests.backends import backend  # noqa: F401  (SQLite alone: the pages' answers; who sees what is tested on both in tests/service/test_patient_access.py)

from .conftest import text_of

CLINICIANS = {"treating", "collector", "booked", "ward", "granted", "stranger"}
COLLECTORS = CLINICIANS | {"technician"}  # dispatch: clinicians and technicians
PRINTERS = {"technician", "qa", "admin"}
WRISTBAND_PRINTERS = CLINICIANS | {"technician", "qa"}
EVERYONE = set(PERSONAS)

# name -> (method, url template, form, who may use the route at all, answer when allowed)
ROUTES = {
    "patient page": ("GET", "/patients/{patient}", None, EVERYONE, 200),
    "unit page": ("GET", "/units/{unit}", None, EVERYONE, 200),
    "product page": ("GET", "/units/{product}", None, EVERYONE, 200),
    "history CSV": ("GET", "/units/{unit}/history.csv", None, EVERYONE, 200),
    "action form": ("GET", "/units/{unit}/actions/dispatch", None, COLLECTORS, 200),
    "scan box": ("GET", "/scan?code={barcode}", None, EVERYONE, 302),
    "station scan": ("POST", "/station", {"code": "{barcode}"}, EVERYONE, 200),
    "station wristband": ("POST", "/station", {"code": "{wristband}"}, EVERYONE, 200),
    "unit label": ("GET", "/labels/units/{unit}", None, PRINTERS, 200),
    "wristband label": ("GET", "/labels/patients/{patient}", None, WRISTBAND_PRINTERS, 200),
}


def _fill(text: str, cast: Cast) -> str:
    return text.format(
        patient=cast.patient.id,
        unit=cast.fresh.id,
        product=cast.product.id,
        barcode=cast.fresh.barcode_data,
        wristband=cast.patient.wristband,
    )


def _open(client, cast: Cast, route: str):
    method, template, form, _, _ = ROUTES[route]
    data = {k: _fill(v, cast) for k, v in form.items()} if form else None
    return client.open(_fill(template, cast), method=method, data=data)


def expected(route: str, persona: str) -> int:
    _, _, _, allowed, answer = ROUTES[route]
    if persona not in allowed:
        return 403  # the route's role check: the same for every patient
    return answer if persona in SEE else 404


@pytest.fixture
def cast(users) -> Cast:
    return make_cast(users)


@pytest.mark.req("LIMS-3")
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_person_gets_exactly_what_they_may_see(client, login, cast, persona):
    login(cast.people[persona].username)
    answers = {route: _open(client, cast, route).status_code for route in ROUTES}
    assert answers == {route: expected(route, persona) for route in ROUTES}


def test_the_stranger_reads_nothing_of_her_not_even_her_name(client, login, cast):
    login("stranger")
    for route in ROUTES:
        assert NAME not in _open(client, cast, route).get_data(as_text=True), route


@pytest.mark.parametrize(
    ("url", "unknown"),
    [
        ("/patients/{patient}", "/patients/999999"),
        ("/units/{unit}", "/units/999999"),
        ("/units/{unit}/history.csv", "/units/999999/history.csv"),
        ("/units/{unit}/actions/dispatch", "/units/999999/actions/dispatch"),
        ("/labels/patients/{patient}", "/labels/patients/999999"),
    ],
)
def test_a_refusal_reads_word_for_word_like_an_unknown_record(client, login, cast, url, unknown):
    login("stranger")
    refused = client.get(_fill(url, cast))
    missing = client.get(unknown)
    ident = str(cast.patient.id if "patients" in url else cast.fresh.id)
    assert refused.status_code == missing.status_code == 404
    assert text_of(refused).replace(f"id {ident}", "id N") == text_of(missing).replace(
        "id 999999", "id N"
    )


def test_a_scan_of_her_unit_reads_like_an_unknown_identifier(client, login, cast):
    login("stranger")
    refused = client.get(_fill("/scan?code={barcode}", cast))
    assert refused.status_code == 404 and "no unit has identifier" in text_of(refused)
    assert cast.fresh.eye_readable in text_of(refused)  # what was scanned, and nothing more
    assert NAME not in text_of(refused)


@pytest.mark.parametrize("persona", ["treating", "technician", "qa", "stranger"])
def test_the_units_list_and_its_search_hold_only_her_units_for_those_who_see_her(
    client, login, cast, persona
):
    login(cast.people[persona].username)
    for url in ("/units/", f"/units/?q={NAME.split()[1]}", f"/units/?q={cast.patient.mrn}"):
        page = client.get(url)
        assert page.status_code == 200
        assert (NAME in text_of(page)) is (persona in SEE), url


def test_a_technician_is_not_shown_a_patient_the_lab_holds_nothing_of(client, login, cast):
    from lims.extensions import db
    from lims.models import Patient

    clinic_only = Patient(mrn="MRN-C", name="Clinic Only", wristband="P-CLINIC-1")
    db.session.add(clinic_only)
    db.session.commit()
    login("technician")
    assert client.get(f"/patients/{clinic_only.id}").status_code == 404
    client.post("/logout")
    login("qa")
    assert client.get(f"/patients/{clinic_only.id}").status_code == 200
