"""One form per action: each happy path, and each kind of refusal (wrong status, stale
version, wrong role, bad data) answered on the page with the data unchanged."""

from __future__ import annotations

import re

import pytest

from lims.extensions import db
from lims.models import Unit
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: the action pages; the actions are tested on both in tests/service)
from tests.service.lab import steps_for

from .conftest import SERVICE_DATA, action_form, stored, text_of

# action -> (who takes it, the status it starts from, the status it leads to)
HAPPY = {
    "dispatch": ("clinician", "collected", "in_transit"),
    "receive": ("technician", "collected", "received"),
    "start_processing": ("technician", "received", "in_processing"),
    "complete_processing": ("technician", "in_processing", "processed"),
    "reject": ("technician", "in_transit", "rejected"),
    "discard": ("qa", "received", "discarded"),
}


def shown_version(response) -> str:
    match = re.search(
        r'name="version" type="hidden" value="(\d+)"', response.get_data(as_text=True)
    )
    assert match, "the form carries the unit's version"
    return match.group(1)


def record_every_step(unit, users) -> None:
    """Processing completes only once every step of the protocol is on record."""
    for step in steps_for(unit.unit_type):
        units.perform_action(unit.id, "record_step", step, users["technician"])


def submit(client, unit, action, **fields):
    """Open the action's form, fill it in as a person would, and send it."""
    form = client.get(f"/units/{unit.id}/actions/{action}")
    assert form.status_code == 200, text_of(form)
    data = {"version": shown_version(form), **action_form(action), **fields}
    return client.post(f"/units/{unit.id}/actions/{action}", data=data)


@pytest.mark.parametrize("action", HAPPY)
def test_each_action_through_its_form(login, unit_in, users, action):
    role, start, end = HAPPY[action]
    unit = unit_in(start)
    if action == "complete_processing":
        record_every_step(unit, users)
    before = stored(unit.id)
    client = login(role)

    response = submit(client, unit, action)

    assert response.status_code == 302
    assert response.location.endswith(f"/units/{unit.id}")
    after = stored(unit.id)
    assert after["status"] == end
    assert after["ledger_entries"] > before["ledger_entries"]
    assert f"is now {end.replace('_', ' ')}" in text_of(client.get(response.location))


def test_completing_processing_creates_the_products_of_the_filled_rows_only(login, unit_in, users):
    unit = unit_in("in_processing")
    record_every_step(unit, users)
    client = login("technician")

    response = submit(
        client,
        unit,
        "complete_processing",
        **{
            "products-0-type": "",
            "products-0-volume_ml": "",
            "products-0-cell_count": "",
            "products-1-type": "SVF",
            "products-1-volume_ml": "12.5",
            "products-1-cell_count": "25000000",
        },
    )

    assert response.status_code == 302
    products = units.units_for_din(unit.din)[1:]
    assert [(p.unit_type, p.volume_ml, p.cell_count, p.status) for p in products] == [
        ("SVF", 12.5, 25_000_000, "quarantine")
    ]
    assert "Products in quarantine: SVF (S2010)" in text_of(client.get(response.location))


def test_the_product_choice_is_limited_to_what_the_source_can_make(login, unit_in):
    unit = unit_in("in_processing")

    html = (
        login("technician")
        .get(f"/units/{unit.id}/actions/complete_processing")
        .get_data(as_text=True)
    )

    assert 'value="SVF"' in html
    assert 'value="BM-MNC"' not in html
    assert 'value="PRP"' not in html


PROCESSING_ROWS = {
    "products-0-type": "",
    "products-0-volume_ml": "",
    "products-0-cell_count": "",
}


@pytest.mark.parametrize(
    ("action", "start", "fields", "field_id", "message"),
    [
        ("dispatch", "collected", {"courier": ""}, "courier", "Field required"),
        ("dispatch", "collected", {"courier": "c" * 121}, "courier", "at most 120 characters"),
        ("receive", "collected", {"temperature_c": "warm"}, "temperature_c", "Not a valid float"),
        ("receive", "collected", {"temperature_c": "900"}, "temperature_c", "less than or equal"),
        ("receive", "collected", {"container_intact": ""}, "container_intact", "Field required"),
        ("receive", "collected", {"container_intact": "maybe"}, "container_intact", "boolean"),
        ("receive", "collected", {"volume_ml": "-1"}, "volume_ml", "greater than or equal to 0.01"),
        ("start_processing", "received", {"equipment": ""}, "equipment", "Field required"),
        ("complete_processing", "in_processing", PROCESSING_ROWS, None, "at least 1 item"),
        (
            "complete_processing",
            "in_processing",
            {"products-0-volume_ml": ""},
            "products-0-volume_ml",
            "Field required",
        ),
        (
            "complete_processing",
            "in_processing",
            {"products-0-cell_count": "many"},
            "products-0-cell_count",
            "Not a valid integer",
        ),
        (
            "complete_processing",
            "in_processing",
            {"products-0-type": "PRP"},
            None,
            "PRP cannot be made from ADIPOSE",
        ),
        (
            "complete_processing",
            "in_processing",
            {"products-1-type": "SVF", "products-1-volume_ml": "3"},
            None,
            "list each product type once",
        ),
        ("reject", "collected", {"reason": ""}, "reason", "Field required"),
        ("reject", "collected", {"reason": "no"}, "reason", "at least 3 characters"),
        ("discard", "collected", {"reason": "r" * 501}, "reason", "at most 500 characters"),
    ],
)
def test_bad_entries_are_answered_on_the_form_and_change_nothing(
    login, unit_in, action, start, fields, field_id, message
):
    unit = unit_in(start)
    before = stored(unit.id)

    response = submit(login("technician"), unit, action, **fields)

    assert response.status_code == 422
    assert message in text_of(response)
    if field_id:
        assert f'id="{field_id}-error-1"' in response.get_data(as_text=True)
    assert stored(unit.id) == before


def test_receipt_outside_acceptance_says_why_and_keeps_the_entries(login, unit_in):
    unit = unit_in("collected")
    before = stored(unit.id)
    client = login("technician")

    response = submit(client, unit, "receive", temperature_c="31.5", volume_ml="240")

    assert response.status_code == 422
    page = text_of(response)
    assert "outside acceptance: receipt temperature 31.5 °C is outside 2–8 °C" in page
    html = response.get_data(as_text=True)
    assert 'value="31.5"' in html and 'value="240"' in html  # kept for a deviation note
    assert f'href="/units/{unit.id}/actions/reject"' in html  # or reject instead
    assert html.count('id="deviation_note-error-') == 1  # pointed at the note, once
    assert stored(unit.id) == before


def test_receipt_outside_acceptance_is_accepted_with_a_deviation_note(login, unit_in):
    unit = unit_in("collected")
    client = login("technician")

    response = submit(
        client, unit, "receive", temperature_c="12", deviation_note="cool pack thawed; QA informed"
    )

    assert response.status_code == 302
    db.session.rollback()
    stored_unit = db.session.get(Unit, unit.id)
    assert stored_unit.status == "received" and stored_unit.deviation is True
    page = text_of(client.get(f"/units/{unit.id}"))
    assert "accepted with deviation" in page
    assert "cool pack thawed; QA informed" in page


@pytest.mark.req("P11-6")
@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("receive", "received"),
        ("start_processing", "collected"),
        ("complete_processing", "received"),
        ("dispatch", "in_transit"),
        ("reject", "in_processing"),  # a technician rejects at receipt only
        ("discard", "discarded"),
    ],
)
def test_an_action_not_allowed_from_this_status_is_refused_with_409(login, unit_in, action, status):
    unit = unit_in(status)
    before = stored(unit.id)
    client = login("technician")

    shown = client.get(f"/units/{unit.id}/actions/{action}")
    sent = client.post(
        f"/units/{unit.id}/actions/{action}",
        data={"version": str(before["version"]), **action_form(action)},
    )

    for response in (shown, sent):
        assert response.status_code == 409
        assert "allowed from" in text_of(response) or "cannot" in text_of(response)
        assert 'name="version"' not in response.get_data(as_text=True)  # no form to fill
    assert stored(unit.id) == before


@pytest.mark.req("P11-7")
@pytest.mark.parametrize(
    ("role", "action", "status"),
    [
        ("clinician", "receive", "collected"),
        ("clinician", "discard", "collected"),
        ("qa", "dispatch", "collected"),
        ("qa", "start_processing", "received"),
        ("admin", "reject", "collected"),
        ("admin", "complete_processing", "in_processing"),
    ],
)
def test_a_role_that_may_not_take_the_action_is_refused_with_403(
    login, unit_in, role, action, status
):
    unit = unit_in(status)
    before = stored(unit.id)
    client = login(role)

    shown = client.get(f"/units/{unit.id}/actions/{action}")
    sent = client.post(
        f"/units/{unit.id}/actions/{action}",
        data={"version": str(before["version"]), **action_form(action)},
    )

    for response in (shown, sent):
        assert response.status_code == 403
        assert "may not" in text_of(response)
    assert stored(unit.id) == before


@pytest.mark.req("LIMS-2")
def test_a_stale_form_is_refused_with_409_instead_of_overwriting(login, unit_in, users):
    unit = unit_in("collected")
    client = login("technician")
    form = client.get(f"/units/{unit.id}/actions/reject")
    version = shown_version(form)
    units.perform_action(unit.id, "dispatch", SERVICE_DATA["dispatch"], users["clinician"])
    before = stored(unit.id)

    response = client.post(
        f"/units/{unit.id}/actions/reject", data={"version": version, "reason": "leaking"}
    )

    assert response.status_code == 409
    assert "the unit changed since you loaded it" in text_of(response)
    assert stored(unit.id) == before
    assert before["status"] == "in_transit"


@pytest.mark.parametrize("version", ["", "abc"])
def test_a_form_without_a_readable_version_is_refused(login, unit_in, version):
    unit = unit_in("collected")
    before = stored(unit.id)

    response = login("technician").post(
        f"/units/{unit.id}/actions/reject", data={"version": version, "reason": "leaking"}
    )

    assert response.status_code == 422
    assert "version" in text_of(response)
    assert stored(unit.id) == before


@pytest.mark.parametrize(
    "url",
    [
        "/units/999/actions/receive",
        "/units/{id}/actions/expire",  # the scheduler's action: no form
        "/units/{id}/actions/register",  # not an action on a unit
        "/units/{id}/actions/x",
    ],
)
def test_unknown_units_and_actions_are_404(login, unit_in, url):
    unit = unit_in("collected")
    client = login("technician")

    for method in (client.get, client.post):
        response = method(url.format(id=unit.id), data={"version": "1"})
        assert response.status_code == 404
