"""The unit page: the summary, the collection's lineage, the full ledger history, and buttons
for exactly the actions this user may take now."""

from __future__ import annotations

import re

import pytest

from lims.domain.lifecycle import ACTIONS
from lims.domain.processing import protocol_for
from lims.services.actions import units
from tests.backends import backend  # noqa: F401  (SQLite alone: what the unit page shows; the services behind it are tested on both)
from tests.service.lab import steps_for

from .conftest import SERVICE_DATA, text_of


def action_buttons(response) -> set[str]:
    return set(
        re.findall(
            r'data-action="(\w+)"', response.get_data(as_text=True).split('class="timeline"')[0]
        )
    )


def test_the_summary_shows_identity_patient_custody_and_expiry(login, unit_in):
    unit = unit_in("received")

    response = login("clinician").get(f"/units/{unit.id}")

    assert response.status_code == 200
    html, page = response.get_data(as_text=True), text_of(response)
    assert f'<span class="check" aria-label="check character {unit.check_character}">' in html
    assert unit.eye_readable in page
    assert "S1010 00" in page and "Adipose tissue, lipoaspirate" in page
    assert "RECEIVED" in page.upper()
    for fact in ("Pat Example", "MRN-1", "1980-05-17", unit.patient.wristband, "Test Technician"):
        assert fact in page
    assert "Storage 2–8 °C" in page
    assert re.search(r"Expiry \d{4}-\d\d-\d\d \d\d:\d\d CES?T \d+ h \d\d min left", page)


def test_the_history_lists_every_entry_of_the_collection_oldest_first(login, unit_in, users):
    unit = unit_in("in_processing")
    result = units.perform_action(
        unit.id,
        "complete_processing",
        {
            "products": [{"type": "SVF", "volume_ml": 10, "cell_count": 2_500_000}],
            "steps": steps_for("ADIPOSE"),
        },
        users["technician"],
    )
    product = result.products[0]

    response = login("qa").get(f"/units/{product.id}")

    page = text_of(response)
    steps = re.findall(r'<li class="event" data-action="(\w+)"', response.get_data(as_text=True))
    protocol = protocol_for("ADIPOSE")
    assert protocol is not None
    assert steps == [
        "register",
        "receive",
        "start_processing",
        *["record_step"] * len(protocol.steps),
        "complete_processing",
        "complete_processing",
    ]
    assert "new → collected" in page
    assert "collected → received" in page
    assert "Test Clinician · Clinician" in page
    assert "Test Technician · Lab technician" in page
    assert "Temperature 4 °C" in page and "Container intact yes" in page
    assert "Cell count 2,500,000" in page
    assert re.search(r"Collected at \d{4}-\d\d-\d\d \d\d:\d\d CES?T", page)
    assert f'href="/units/{unit.id}"' in response.get_data(as_text=True)  # parent link
    assert "Made from ADIPOSE · S1010 00" in page


@pytest.mark.req("A11-2")
def test_the_reason_is_shown_with_its_entry(login, unit_in, users):
    unit = unit_in("collected")
    units.perform_action(unit.id, "discard", {"reason": "patient withdrew consent"}, users["qa"])

    page = text_of(login("qa").get(f"/units/{unit.id}"))

    assert "Reason: patient withdrew consent" in page


def test_the_source_links_to_its_products(login, unit_in, users):
    unit = unit_in("in_processing")
    product = units.perform_action(
        unit.id, "complete_processing", SERVICE_DATA["complete_processing"], users["technician"]
    ).products[0]

    html = login("technician").get(f"/units/{unit.id}").get_data(as_text=True)

    assert f'href="/units/{product.id}"' in html
    assert "made from this unit" in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (role, status)
        for role in ("technician", "clinician", "qa", "admin")
        for status in ("collected", "in_transit", "received", "in_processing", "discarded")
    ],
)
def test_buttons_for_exactly_the_actions_this_user_may_take_now(
    login, users, unit_in, role, status
):
    unit = unit_in(status)

    response = login(role).get(f"/units/{unit.id}")

    expected = {a.name for a in units.allowed_actions(unit, users[role])}
    assert action_buttons(response) == expected


def test_a_clinician_sees_no_receive_button_on_a_collected_unit_and_a_technician_does(
    login, unit_in
):
    unit = unit_in("collected")

    as_clinician = login("clinician").get(f"/units/{unit.id}")
    login("clinician").post("/logout")
    as_technician = login("technician").get(f"/units/{unit.id}")

    assert "receive" not in action_buttons(as_clinician)
    assert "receive" in action_buttons(as_technician)
    assert f'data-action="receive">{ACTIONS["receive"].label}</a>' in as_technician.get_data(
        as_text=True
    )


def test_an_unknown_unit_is_404(login):
    response = login("technician").get("/units/4242")

    assert response.status_code == 404
    assert "no unit with id 4242" in text_of(response)
