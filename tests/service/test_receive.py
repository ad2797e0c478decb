"""Receipt acceptance (docs/product.md §4): in range is accepted; outside acceptance is refused
unless a deviation note accepts it, and the ledger says what was outside."""

from __future__ import annotations

import json

import pytest

from lims.domain.errors import Conflict, Invalid
from lims.services.actions.units import allowed_actions, perform_action

from .lab import data_for, entries_of, stored

NOTE = "accepted by the lab lead; see deviation report DR-7"

# kind, how long ago it was collected, what differs from a good receipt, the deviation named
OUTSIDE = {
    "too warm": ("ADIPOSE", 1, {"temperature_c": 12.0}, "outside 2–8 °C"),
    "too cold": ("MARROW", 1, {"temperature_c": 4.0}, "outside 15–25 °C"),
    "container broken": ("ADIPOSE", 1, {"container_intact": False}, "container is not intact"),
    "label mismatch": ("MARROW", 1, {"label_matches": False}, "label does not match"),
    "adipose too late": ("ADIPOSE", 25, {}, "received later than allowed"),
    "marrow too late": ("MARROW", 49, {}, "received later than allowed"),
}


@pytest.mark.req("F-4")
@pytest.mark.parametrize(
    ("kind", "temperature"), [("ADIPOSE", 2.0), ("ADIPOSE", 8.0), ("MARROW", 15.0), ("BLOOD", 25.0)]
)
def test_receipt_in_range_is_accepted(kind, temperature, users, unit_in):
    unit = unit_in("collected", kind)
    data = {**data_for("receive", kind), "temperature_c": temperature}
    perform_action(unit.id, "receive", data, users["technician"])
    assert (unit.status, unit.deviation) == ("received", False)
    recorded = json.loads(entries_of(unit.id)[-1].data)
    assert recorded["acceptance"] == "accepted"
    assert "deviations" not in recorded


@pytest.mark.req("F-4", "A11-2")
@pytest.mark.parametrize("case", list(OUTSIDE))
def test_outside_acceptance_is_refused_without_a_deviation_note(case, users, unit_in):
    kind, hours_ago, changes, deviation = OUTSIDE[case]
    unit = unit_in("collected", kind, hours_ago=hours_ago)
    before = stored(unit.id)
    with pytest.raises(Invalid) as refused:
        perform_action(
            unit.id, "receive", {**data_for("receive", kind), **changes}, users["technician"]
        )
    assert deviation in refused.value.message
    assert "deviation note" in refused.value.fields["deviation_note"]
    assert stored(unit.id) == before


@pytest.mark.req("F-9")
@pytest.mark.parametrize("case", list(OUTSIDE))
def test_outside_acceptance_is_accepted_with_a_deviation_note(case, users, unit_in):
    kind, hours_ago, changes, deviation = OUTSIDE[case]
    unit = unit_in("collected", kind, hours_ago=hours_ago)
    data = {**data_for("receive", kind), **changes, "deviation_note": NOTE}
    perform_action(unit.id, "receive", data, users["technician"])
    assert (unit.status, unit.deviation) == ("received", True)
    recorded = json.loads(entries_of(unit.id)[-1].data)
    assert recorded["acceptance"] == "accepted with deviation"
    assert recorded["deviation_note"] == NOTE
    assert [d for d in recorded["deviations"] if deviation in d]


def test_every_deviation_is_listed(users, unit_in):
    unit = unit_in("collected", "ADIPOSE", hours_ago=30)
    data = {
        **data_for("receive"),
        "temperature_c": 20.0,
        "container_intact": False,
        "label_matches": False,
        "deviation_note": NOTE,
    }
    perform_action(unit.id, "receive", data, users["technician"])
    assert len(json.loads(entries_of(unit.id)[-1].data)["deviations"]) == 4


def test_a_unit_outside_acceptance_can_be_rejected_at_receipt_instead(users, unit_in):
    unit = unit_in("in_transit", "ADIPOSE")
    perform_action(unit.id, "reject", {"reason": "arrived at 20 °C"}, users["technician"])
    assert unit.status == "rejected"


def test_the_deviation_flag_passes_to_the_products(users, unit_in):
    unit = unit_in("collected", "MARROW")
    data = {**data_for("receive", "MARROW"), "temperature_c": 10.0, "deviation_note": NOTE}
    perform_action(unit.id, "receive", data, users["technician"])
    for step in ("start_processing", "complete_processing"):
        result = perform_action(unit.id, step, data_for(step, "MARROW"), users["technician"])
    assert result.products[0].deviation is True


@pytest.fixture
def expired_blood(users, unit_in):
    """Blood collected 5 h ago (processing allowed within 4 h), received with a deviation."""
    unit = unit_in("collected", "BLOOD", hours_ago=5)
    data = {**data_for("receive", "BLOOD"), "deviation_note": NOTE}
    perform_action(unit.id, "receive", data, users["technician"])
    return unit


def test_expired_blood_cannot_start_processing(expired_blood, users):
    before = stored(expired_blood.id)
    with pytest.raises(Conflict) as refused:
        perform_action(
            expired_blood.id, "start_processing", data_for("start_processing"), users["technician"]
        )
    assert refused.value.http_status == 409
    assert "expired" in refused.value.message
    assert stored(expired_blood.id) == before


def test_expired_blood_can_be_discarded(expired_blood, users):
    names = {a.name for a in allowed_actions(expired_blood, users["technician"])}
    # An expired unit may still be moved: where it physically sits is recorded until discard.
    assert names == {"reject", "store", "move", "discard"}
    perform_action(expired_blood.id, "discard", {"reason": "expired"}, users["technician"])
    assert expired_blood.status == "discarded"


def test_expired_collection_cannot_be_dispatched(users, unit_in):
    unit = unit_in("collected", "BLOOD", hours_ago=5)
    with pytest.raises(Conflict, match="expired"):
        perform_action(unit.id, "dispatch", data_for("dispatch"), users["clinician"])
