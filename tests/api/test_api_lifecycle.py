"""A collection's life over the JSON API, as the lab's client software would drive it."""

from __future__ import annotations

import pytest

from tests.conftest import SOURCES, registration
from tests.service.lab import steps_for

from .helpers import assert_error

UNIT_KEYS = {
    "id",
    "identifier",
    "check_character",
    "barcode_data",
    "eye_readable",
    "product_code",
    "division",
    "status",
    "type",
    "type_name",
    "parent_id",
    "volume_ml",
    "cell_count",
    "collection_site",
    "collected_at",
    "donor_testing",
    "chain_of_identity",
    "received_at",
    "processed_at",
    "expires_at",
    "custodian",
    "location",
    "deviation",
    "thawed_at",
    "released_at",
    "exceptional_release",
    "administered_at",
    "qc_alert",
    "version",
    "patient",
}


@pytest.mark.parametrize("kind", ["ADIPOSE", "MARROW", "BLOOD"])
def test_a_collection_goes_from_registration_to_quarantined_product(api, kind):
    unit = api.register(kind, as_="clinician")
    assert unit["status"] == "collected"
    api.act(unit, "dispatch", as_="clinician")
    api.act(unit, "receive")
    api.act(unit, "start_processing")
    done = api.act(unit, "complete_processing")

    assert done["unit"]["status"] == "processed"
    [product] = done["products"]
    assert product["status"] == "quarantine"
    assert product["type"] == SOURCES[kind]["product"]
    assert product["identifier"] == unit["identifier"]
    assert product["parent_id"] == unit["id"]
    assert done["unit"]["children"] == [product["id"]]
    steps = steps_for(kind)  # given with the completion: each recorded as its own step
    assert [(e["action"], e["unit_id"]) for e in done["entries"]] == [
        *[("record_step", unit["id"])] * len(steps),
        ("complete_processing", unit["id"]),
        ("complete_processing", product["id"]),
    ]

    history = api.get(f"/units/{product['id']}/history").get_json()
    assert [(e["action"], e["to_status"]) for e in history["entries"]] == [
        ("register", "collected"),
        ("dispatch", "in_transit"),
        ("receive", "received"),
        ("start_processing", "in_processing"),
        *[("record_step", "in_processing")] * len(steps),
        ("complete_processing", "processed"),
        ("complete_processing", "quarantine"),
    ]
    recorded = [e["data"]["step"] for e in history["entries"] if e["action"] == "record_step"]
    assert recorded == [step["step"] for step in steps]
    verify = api.get("/ledger/verify", as_="qa").get_json()
    total = 6 + len(steps)
    assert verify == {"intact": True, "checked": total, "head_seq": total, "first_break": None}


def test_a_registered_unit_carries_its_identity_patient_and_expiry(api):
    unit = api.register("ADIPOSE", mrn="MRN-77", name="Ada Lovelace")
    assert set(unit) == UNIT_KEYS | {"allowed_actions", "children"}
    assert len(unit["identifier"]) == 13 and unit["identifier"].startswith("T0001")
    assert unit["barcode_data"] == f"={unit['identifier']}{unit['barcode_data'][-2:]}"
    assert unit["eye_readable"].endswith(f" {unit['check_character']}")
    assert unit["patient"]["mrn"] == "MRN-77" and unit["patient"]["name"] == "Ada Lovelace"
    assert unit["patient"]["wristband"].startswith("PT0001")
    assert unit["custodian"]["name"] == "Test Clinician"
    assert unit["collected_at"].endswith("Z") and unit["expires_at"].endswith("Z")
    assert unit["type_name"] == "Adipose tissue, lipoaspirate"


@pytest.mark.parametrize("testing", ["performed", "not_performed"])
def test_donor_testing_is_sent_with_the_registration_and_answered_on_the_product(api, testing):
    source = api.register("MARROW", donor_testing=testing)
    for action in ("receive", "start_processing"):
        api.act(source, action)

    [product] = api.act(source, "complete_processing")["products"]

    assert source["donor_testing"] == product["donor_testing"] == testing


def test_a_registration_without_donor_testing_answers_not_recorded(api):
    assert api.register("ADIPOSE")["donor_testing"] is None


def test_registration_answers_with_the_new_units_address(api):
    response = api.post("/units", registration("ADIPOSE"), as_="technician")
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/units/{response.get_json()['id']}")
    assert (
        api.client.get(location, headers=api.headers("qa")).get_json()["id"]
        == (response.get_json()["id"])
    )


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("technician", ["dispatch", "receive", "store", "move", "reject", "discard"]),
        ("clinician", ["dispatch"]),
        ("qa", ["reject", "discard"]),
        ("admin", []),
    ],
)
def test_a_unit_lists_only_what_the_caller_may_do_now(api, role, allowed):
    unit = api.register("ADIPOSE")
    shown = api.get(f"/units/{unit['id']}", as_=role).get_json()
    assert shown["allowed_actions"] == allowed


@pytest.mark.req("P11-1", "F-4")
def test_each_action_bumps_the_version_and_returns_its_ledger_entry(api):
    unit = api.register("MARROW")
    result = api.act(unit, "dispatch", version=unit["version"], **_dispatch())
    assert result["unit"]["version"] == unit["version"] + 1
    [entry] = result["entries"]
    assert entry["action"] == "dispatch"
    assert (entry["from_status"], entry["to_status"]) == ("collected", "in_transit")
    assert entry["actor"] == {
        "id": entry["actor"]["id"],
        "name": "Test Technician",
        "role": "technician",
    }
    assert entry["data"] == _dispatch()
    assert entry["recorded_at"].endswith("Z") and len(entry["entry_hash"]) == 64


def _dispatch() -> dict:
    return {"courier": "Courier A", "transport_condition": "cool box"}


def test_a_stale_version_is_refused_and_changes_nothing(api, state):
    unit = api.register("ADIPOSE")
    api.act(unit, "dispatch")  # someone else acted meanwhile
    before = state()
    response = api.post(
        f"/units/{unit['id']}/actions",
        {"action": "receive", "version": unit["version"], **_receipt()},
    )
    assert_error(response, 409, "stale_version")
    assert state() == before


def _receipt() -> dict:
    return {"temperature_c": 4.0, "container_intact": True, "volume_ml": 250}


@pytest.mark.req("P11-6")
def test_an_action_not_allowed_now_is_refused_with_409(api, state):
    unit = api.register("ADIPOSE")
    before = state()
    response = api.post(
        f"/units/{unit['id']}/actions",
        {"action": "start_processing", "protocol": "p", "equipment": "e"},
    )
    error = assert_error(response, 409, "not_allowed_now")
    assert "collected" in error["message"]
    assert state() == before


def test_a_role_that_may_not_take_the_action_gets_403(api, state):
    unit = api.register("ADIPOSE")
    before = state()
    response = api.post(
        f"/units/{unit['id']}/actions", {"action": "receive", **_receipt()}, as_="clinician"
    )
    assert_error(response, 403, "role_not_allowed")
    assert state() == before


def test_a_record_number_reused_with_another_name_is_refused(api, state):
    api.register("ADIPOSE", mrn="MRN-9", name="Pat Example")
    before = state()
    response = api.post("/units", registration(mrn="MRN-9", name="Someone Else"))
    assert_error(response, 409, "patient_mismatch")
    assert state() == before


def test_a_record_number_reused_with_the_same_name_is_the_same_patient(api):
    first = api.register("ADIPOSE", mrn="MRN-9", name="Pat Example")
    second = api.register("BLOOD", mrn="MRN-9", name="pat  example")
    assert second["patient"]["id"] == first["patient"]["id"]
    assert second["identifier"] != first["identifier"]


def test_receipt_outside_acceptance_needs_a_deviation_note(api, state):
    unit = api.register("ADIPOSE")
    warm = {**_receipt(), "temperature_c": 30.0}
    before = state()
    refused = api.post(f"/units/{unit['id']}/actions", {"action": "receive", **warm})
    error = assert_error(refused, 422)
    assert "outside acceptance" in error["message"]
    assert state() == before

    accepted = api.act(unit, "receive", **warm, deviation_note="courier delayed; used anyway")
    assert accepted["unit"]["deviation"] is True
    assert accepted["entries"][0]["data"]["acceptance"] == "accepted with deviation"


def test_a_rejection_records_its_reason(api):
    unit = api.register("BLOOD")
    result = api.act(unit, "reject", reason="clotted sample")
    assert result["unit"]["status"] == "rejected"
    assert result["unit"]["allowed_actions"] == []
    assert result["entries"][0]["reason"] == "clotted sample"


@pytest.mark.req("T-1", "T-3")
def test_history_covers_the_whole_collection_from_any_of_its_units(api):
    unit = api.register("ADIPOSE")
    for step in ("receive", "start_processing", "complete_processing"):
        api.act(unit, step)
    other = api.register("BLOOD", mrn="MRN-2", name="Other Patient")
    product_id = api.get(f"/units/{unit['id']}").get_json()["children"][0]

    from_source = api.get(f"/units/{unit['id']}/history", as_="clinician").get_json()
    from_product = api.get(f"/units/{product_id}/history", as_="admin").get_json()
    assert from_source["entries"] == from_product["entries"]
    steps = len(steps_for("ADIPOSE"))  # register, receive, start, the steps, complete ×2
    assert [e["seq"] for e in from_source["entries"]] == list(range(1, 6 + steps))
    assert other["id"] not in {e["unit_id"] for e in from_source["entries"]}
    assert from_source["identifier"] == unit["identifier"]
    register = from_source["entries"][0]
    assert register["prev_hash"] == "0" * 64
    assert from_source["entries"][1]["prev_hash"] == register["entry_hash"]
    assert register["data"]["patient"]["mrn"] == "MRN-1"
