"""Registering a collection through the form: the happy path, and every kind of bad input
answered on the form (never a 500) with nothing created."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lims.extensions import db
from lims.models import Unit
from lims.services.custody import ledger
from tests.backends import backend  # noqa: F401  (SQLite alone: the registration form's answers; registering is tested on both in service/test_register)
from tests.sites import a_clinic

from .conftest import ZONE, local_input, register_form, text_of, unit_count


@pytest.mark.parametrize("role", ["clinician", "technician"])
def test_registering_a_collection_shows_the_new_unit(login, role):
    client = login(role)
    collected = datetime.now(ZoneInfo(ZONE)).replace(second=0, microsecond=0) - timedelta(hours=2)

    response = client.post(
        "/units/register", data=register_form(collected_at=local_input(collected))
    )

    assert response.status_code == 302
    unit = db.session.scalars(db.select(Unit)).one()
    assert response.location.endswith(f"/units/{unit.id}")
    assert unit.status == "collected"
    assert unit.collected_at == collected  # the entered wall-clock time, read in Berlin
    assert unit.patient.mrn == "MRN-7"
    page = client.get(response.location)
    assert f"Registered {unit.eye_readable} for Pat Example." in text_of(page)


@pytest.mark.parametrize(
    ("chosen", "kept", "shown"),
    [("performed", "performed", "Performed"), ("", None, "Not recorded")],
)
def test_donor_testing_chosen_on_the_form_is_kept_and_shown(login, chosen, kept, shown):
    client = login("technician")

    response = client.post("/units/register", data=register_form(donor_testing=chosen))

    unit = db.session.scalars(db.select(Unit)).one()
    assert unit.donor_testing == kept
    page = client.get(response.location).get_data(as_text=True)
    assert f'data-donor-testing="{kept or ""}">{shown}</dd>' in page


def test_the_register_form_offers_every_collection_site_and_reads_times_in_the_site_zone(login):
    page = text_of(login("clinician").get("/units/register"))

    for site in ("Abdomen", "Thigh", "Flank", "Posterior iliac crest", "Antecubital vein"):
        assert site in page
    assert f"Local time, {ZONE}" in page


LONG = "x" * 10_000
# Times relative to now are filled in when the test runs, so test ids stay stable.
FUTURE, OLD = "<3 hours ahead>", "<40 days ago>"
WHEN = {FUTURE: timedelta(hours=3), OLD: timedelta(days=-40)}


def _resolve(change: dict) -> dict:
    return {
        k: local_input(datetime.now(ZoneInfo(ZONE)) + WHEN[v]) if v in WHEN else v
        for k, v in change.items()
    }


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"mrn": ""}, "mrn", "Field required"),
        ({"name": ""}, "name", "Field required"),
        ({"unit_type": ""}, "unit_type", "Field required"),
        ({"collection_site": ""}, "collection_site", "Field required"),
        ({"volume_ml": ""}, "volume_ml", "Field required"),
        ({"collected_at": ""}, "collected_at", "Field required"),
        ({"collected_at": "yesterday"}, "collected_at", "Not a valid datetime value"),
        ({"collected_at": "2026-02-30T10:00"}, "collected_at", "Not a valid datetime value"),
        ({"birth_date": "1980-13-45"}, "birth_date", "Not a valid date value"),
        ({"volume_ml": "-5"}, "volume_ml", "greater than or equal to 0.01"),
        ({"volume_ml": "0"}, "volume_ml", "greater than or equal to 0.01"),
        ({"volume_ml": "lots"}, "volume_ml", "Not a valid float value"),
        ({"volume_ml": "nan"}, "volume_ml", "finite number"),
        ({"volume_ml": "1e9"}, "volume_ml", "less than or equal to 5000"),
        ({"name": LONG}, "name", "at most 120 characters"),
        ({"mrn": "M" * 33}, "mrn", "at most 32 characters"),
        ({"mrn": "MRN 7; drop"}, "mrn", "should match pattern"),
        ({"unit_type": "PLASMA"}, "unit_type", "must be a source type"),
        ({"collection_site": LONG}, "collection_site", "at most 120 characters"),
        ({"collection_site": "thigh", "unit_type": "MARROW"}, "collection_site", "must be one of"),
        ({"collected_at": FUTURE}, "collected_at", "in the future"),
        ({"collected_at": OLD}, "collected_at", "more than 30 days ago"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_bad_registration_is_answered_on_the_form_and_creates_nothing(
    login, change, field_id, message
):
    client = login("clinician")

    response = client.post("/units/register", data=register_form(**_resolve(change)))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field_id}-error-1"' in html  # the message sits beside its input
    assert message in text_of(response)
    assert unit_count() == 0
    assert ledger.count() == 0


def test_entered_values_are_kept_after_a_refusal(login):
    response = login("technician").post(
        "/units/register", data=register_form(volume_ml="-5", name="Kept Name")
    )

    html = response.get_data(as_text=True)
    assert 'value="Kept Name"' in html
    assert 'value="MRN-7"' in html


def test_an_empty_form_lists_what_is_missing_and_creates_nothing(login):
    response = login("clinician").post("/units/register", data={})

    assert response.status_code == 422
    assert "Field required" in text_of(response)
    assert unit_count() == 0


def test_a_record_number_of_another_patient_is_refused(login, register):
    register(mrn="MRN-7", name="Someone Else")
    before = ledger.count()

    response = login("clinician").post("/units/register", data=register_form())

    assert response.status_code == 409
    assert "belongs to a patient with a different name" in text_of(response)
    assert unit_count() == 1
    assert ledger.count() == before


@pytest.mark.parametrize("role", ["qa", "admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_roles_that_do_not_collect_may_not_register(login, role, method):
    client = login(role)

    response = getattr(client, method)("/units/register", data=register_form())

    assert response.status_code == 403
    assert unit_count() == 0


@pytest.mark.parametrize(("role", "shown"), [("clinician", True), ("qa", False)])
def test_the_register_link_is_shown_only_to_those_who_may_register(login, role, shown):
    html = login(role).get("/units/").get_data(as_text=True)

    assert ('href="/units/register"' in html) is shown


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/units/register")

    assert response.status_code == 302
    assert "/login" in response.location


def test_a_person_at_two_sites_chooses_where_the_collection_was_taken(login, users):
    from lims.services.admin import sites

    client = login("clinician")
    assert "Collected at site" not in text_of(client.get("/units/register"))  # one site: no choice
    (lab,) = sites.list_sites()
    clinic = a_clinic(users["admin"])
    sites.set_memberships(users["clinician"].id, [lab.id, clinic.id], users["admin"])
    assert "Hair Clinic North (C0002)" in text_of(client.get("/units/register"))

    response = client.post("/units/register", data=register_form(facility="C0002"))

    assert response.status_code == 302
    unit = db.session.scalars(db.select(Unit)).one()
    assert unit.din.startswith("C0002") and unit.site_id == clinic.id


def test_a_course_typed_on_the_form_joins_it_and_another_patient_s_is_refused_there(login):
    client = login("clinician")
    client.post("/units/register", data=register_form(mrn="MRN-OTHER", name="Other Person"))
    theirs = db.session.scalars(db.select(Unit)).one().chain_of_identity

    refused = client.post("/units/register", data=register_form(course=theirs))
    assert refused.status_code == 409
    assert "belongs to another patient" in text_of(refused)
    assert unit_count() == 1

    first = client.post("/units/register", data=register_form(course="new"))
    unit = db.session.get(Unit, int(first.location.rsplit("/", 1)[1]))
    assert unit.chain_of_identity not in (None, theirs)
    page = client.get(f"/patients/{unit.patient_id}").get_data(as_text=True)
    assert f'data-course="{unit.chain_of_identity}"' in page
    assert "data-chain-of-identity" in client.get(first.location).get_data(as_text=True)
