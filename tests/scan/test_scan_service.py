"""The scan service: what a code names, a move by scan, the wristband check, and batches.
Each refusal is specific and changes nothing."""

from __future__ import annotations

import json

import pytest

from lims.domain.codes import make_location_code
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.domain.identifiers import barcode_data, make_wristband
from lims.services.station import scan

from .conftest import last_entry

# ---------------------------------------------------------------------------- resolve


def test_a_unit_barcode_resolves_to_the_unit_and_what_the_user_may_do(unit_in, users):
    unit = unit_in("collected")
    found = scan.resolve(unit.barcode_data, users["technician"])
    assert (found.kind, found.unit) == ("unit", unit)
    assert [a.name for a in found.allowed_actions] == [
        "dispatch",
        "receive",
        "store",
        "move",
        "reject",
        "discard",
    ]


def test_a_typed_identifier_resolves_like_the_barcode(unit_in, users):
    unit = unit_in("collected")
    assert scan.resolve(unit.eye_readable, users["clinician"]).unit == unit


@pytest.mark.req("I-4")
def test_a_collection_with_several_open_units_asks_for_the_product_code(unit_in, users):
    source = unit_in("processed")
    found = scan.resolve(source.barcode_data, users["technician"])
    assert found.kind == "collection"
    assert len(found.units) == 2 and "product code" in found.message


def test_a_collection_with_one_open_unit_resolves_to_it(unit_in, act, users):
    source = unit_in("processed")
    act(source, "discard", as_="qa")
    found = scan.resolve(source.barcode_data, users["technician"])
    assert found.kind == "unit"
    assert found.unit.parent_id == source.id


@pytest.mark.req("I-4")
def test_the_din_with_its_product_code_names_one_unit_of_a_collection(unit_in, users):
    source = unit_in("processed")
    product = source.children[0]
    code = f"{product.barcode_data}=<{product.product_code}{product.division}"
    assert scan.resolve(code, users["technician"]).unit == product


def test_a_wristband_resolves_to_the_patient(unit_in, users):
    unit = unit_in("collected")
    found = scan.resolve(unit.patient.wristband, users["technician"])
    assert (found.kind, found.patient) == ("patient", unit.patient)


def test_a_location_code_resolves_to_the_location(place, users):
    fridge = place()
    found = scan.resolve(fridge.code, users["qa"])
    assert (found.kind, found.location) == ("location", fridge)


def test_a_product_code_alone_is_reported_as_such(users):
    found = scan.resolve("=<S201000", users["technician"])
    assert found.kind == "product_code" and "identifier first" in found.message


def test_a_unit_in_a_final_status_resolves_with_no_actions_and_says_so(unit_in, users):
    unit = unit_in("discarded")
    found = scan.resolve(unit.barcode_data, users["technician"])
    assert found.allowed_actions == [] and "final status" in found.message


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (barcode_data("T000126999999"), NotFound, "no unit has identifier"),
        (make_wristband("T0001", 999), NotFound, "no patient has wristband"),
        (make_location_code("T0001", 999), NotFound, "no location has code"),
        ("nonsense", Invalid, ""),
    ],
    ids=["unknown unit", "unknown wristband", "unknown location", "unreadable"],
)
def test_unknown_and_unreadable_codes_are_refused(users, code, error, words):
    with pytest.raises(error) as refused:
        scan.resolve(code, users["technician"])
    assert words in refused.value.message


def test_a_wrong_check_character_is_422_naming_the_expected_one(unit_in, users):
    unit = unit_in("collected")
    wrong = "0" if unit.check_character != "0" else "1"
    with pytest.raises(Invalid) as refused:
        scan.resolve(unit.din + wrong, users["technician"])
    assert refused.value.code == "bad_check_character"
    assert f"expected '{unit.check_character}'" in refused.value.message


# ---------------------------------------------------------------------------- move


def test_unit_then_location_records_the_move(unit_in, place, users):
    unit = unit_in("received")
    fridge = place()
    result = scan.move_by_scan(unit, fridge.code, users["technician"], unit.version)
    assert result.unit.location_id == fridge.id
    assert result.unit.status == "received"
    entry = last_entry(unit.id)
    assert (entry.action, entry.from_location_id, entry.to_location_id) == (
        "move",
        None,
        fridge.id,
    )
    assert json.loads(entry.data)["location"] == fridge.code


def test_a_second_move_records_where_it_came_from(unit_in, place, users):
    unit = unit_in("received")
    fridge, box = place(), place("Box A1", "box")
    scan.move_by_scan(unit, fridge.code, users["technician"])
    scan.move_by_scan(unit, box.code.lower(), users["technician"])
    entry = last_entry(unit.id)
    assert (entry.from_location_id, entry.to_location_id) == (fridge.id, box.id)


@pytest.mark.parametrize(
    ("status", "role", "location", "error", "code"),
    [
        ("received", "technician", "unknown", Invalid, "unknown_location"),
        ("received", "technician", "unit", Invalid, "wrong_kind"),
        ("received", "technician", "bad check", Invalid, "bad_check_character"),
        ("discarded", "technician", "fridge", Conflict, "not_allowed_now"),
        ("received", "clinician", "fridge", Forbidden, "role_not_allowed"),
    ],
)
def test_a_refused_move_says_why_and_changes_nothing(
    unit_in, place, users, stored, status, role, location, error, code
):
    unit = unit_in(status)
    fridge = place()
    text = {
        "unknown": make_location_code("T0001", 999),
        "unit": unit.barcode_data,
        "bad check": fridge.code[:-1] + ("0" if fridge.code[-1] != "0" else "1"),
        "fridge": fridge.code,
    }[location]
    before = stored()
    with pytest.raises(error) as refused:
        scan.move_by_scan(unit, text, users[role])
    assert refused.value.code == code
    if error is Invalid:
        assert "location" in refused.value.fields
    assert stored() == before


def test_a_stale_version_refuses_the_move(unit_in, place, users, stored):
    unit = unit_in("received")
    fridge = place()
    before = stored()
    with pytest.raises(Conflict):
        scan.move_by_scan(unit, fridge.code, users["technician"], unit.version - 1)
    assert stored() == before


# ---------------------------------------------------------------------------- identity


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_a_matching_wristband_is_recorded_as_a_match(unit_in, users, role):
    unit = unit_in("received")
    check = scan.check_identity(unit.patient.wristband, unit.barcode_data, users[role])
    assert check.match
    entry = last_entry(unit.id)
    assert entry.action == "identity_check" and entry.to_status == entry.from_status
    assert json.loads(entry.data) == {
        "wristband": unit.patient.wristband,
        "patient_id": unit.patient_id,
        "result": "match",
    }


def test_a_wrong_wristband_is_recorded_as_a_mismatch(unit_in, users):
    unit = unit_in("received")
    other = unit_in("collected", mrn="MRN-2", name="Other Person")
    check = scan.check_identity(other.patient.wristband, unit.eye_readable, users["clinician"])
    assert not check.match
    assert (check.unit_patient, check.wristband_patient) == (unit.patient, other.patient)
    assert json.loads(last_entry(unit.id).data)["result"] == "mismatch"


@pytest.mark.parametrize(
    ("role", "which", "error", "code"),
    [
        ("qa", "right", Forbidden, "role_not_allowed"),
        ("technician", "swapped", Invalid, "wrong_kind"),
        ("technician", "unknown wristband", NotFound, "unknown_wristband"),
    ],
)
def test_a_refused_identity_check_records_nothing(unit_in, users, stored, role, which, error, code):
    unit = unit_in("received")
    wristband, unit_code = {
        "right": (unit.patient.wristband, unit.barcode_data),
        "swapped": (unit.barcode_data, unit.patient.wristband),
        "unknown wristband": (make_wristband("T0001", 999), unit.barcode_data),
    }[which]
    before = stored()
    with pytest.raises(error) as refused:
        scan.check_identity(wristband, unit_code, users[role])
    assert refused.value.code == code
    assert stored() == before


# ---------------------------------------------------------------------------- batch


def test_a_batch_with_one_bad_unit_does_the_others_and_reports_it(unit_in, place, users, stored):
    good = [unit_in("received"), unit_in("collected")]
    bad = unit_in("discarded")
    box = place("Box A1", "box")
    before = {u[0]: u for u in stored()["units"]}

    results = scan.apply_batch(
        [good[0].id, bad.id, good[1].id, 999_999],
        "move",
        {"location": box.code},
        users["technician"],
    )

    assert [(r.unit_id, r.ok) for r in results] == [
        (good[0].id, True),
        (bad.id, False),
        (good[1].id, True),
        (999_999, False),
    ]
    assert results[1].code == "not_allowed_now" and "discarded" in results[1].message
    assert results[3].code == "not_found"
    after = {u[0]: u for u in stored()["units"]}
    assert after[bad.id] == before[bad.id]
    assert all(after[u.id][3] == box.id for u in good)


def test_a_unit_scanned_twice_is_acted_on_once(unit_in, users):
    unit = unit_in("received")
    results = scan.apply_batch([unit.id, unit.id], "discard", {"reason": "dup"}, users["qa"])
    assert len(results) == 1 and results[0].ok


@pytest.mark.parametrize(
    ("ids", "action", "role", "error"),
    [
        ([], "discard", "technician", Invalid),
        ("1,2", "discard", "technician", Invalid),
        ([1, "x"], "discard", "technician", Invalid),
        ([1], "approve", "technician", Invalid),
        ([1], "release", "qa", Invalid),  # signed unit by unit, never in a batch
        ([1], "move", "qa", Forbidden),
        ([1] * 201, "discard", "technician", Invalid),
    ],
    ids=["empty", "not a list", "not ids", "unknown action", "signed", "role", "too many"],
)
def test_a_malformed_batch_is_refused_as_a_whole(unit_in, users, stored, ids, action, role, error):
    unit_in("received")
    before = stored()
    with pytest.raises(error):
        scan.apply_batch(ids, action, {"reason": "x", "location": "x"}, users[role])
    assert stored() == before
