"""Identity at dispense and at the bedside, expiry, returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lims.domain.errors import Conflict, Invalid, NotFound
from lims.services.actions import expiry, units

from .lab import entries_of, stored


def perform(unit, action, data, user):
    return units.perform_action(unit.id, action, data, user)


def bedside(unit, wristband: str | None = None, **overrides) -> dict:
    data = {
        "wristband": wristband or unit.patient.wristband,
        "site": "vertex",
        "method": "micro-injection",
        "volume_ml": 2,
    }
    return {**data, **overrides}


@pytest.fixture
def dispensed(unit_in):
    return unit_in("dispensed")


@pytest.fixture
def other_patient(unit_in):
    """Another patient's collection: their wristband is the wrong one for ``dispensed``."""
    return unit_in("collected", patient={"mrn": "MRN-9", "name": "Someone Else"}).patient


@pytest.mark.req("F-8")
def test_the_right_wristband_lets_the_clinician_administer(dispensed, users):
    result = perform(dispensed, "administer", bedside(dispensed), users["clinician"])
    assert result.unit.status == "administered"
    assert result.unit.custodian_id == users["clinician"].id
    data = json.loads(result.entries[0].data)
    assert data["identity_check"] == {
        "wristband": dispensed.patient.wristband,
        "result": "match",
    }
    assert (data["site"], data["method"], data["volume_ml"]) == ("vertex", "micro-injection", 2)


@pytest.mark.req("F-8")
def test_a_wrong_wristband_is_refused_recorded_and_changes_nothing_else(
    dispensed, users, other_patient
):
    before = stored(dispensed.id)
    with pytest.raises(Conflict) as refused:
        perform(
            dispensed, "administer", bedside(dispensed, other_patient.wristband), users["clinician"]
        )
    assert refused.value.code == "patient_mismatch"
    assert "STOP" in refused.value.message
    after = stored(dispensed.id)
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert after["ledger_entries"] == before["ledger_entries"] + 1  # the mismatch, recorded
    mismatch = entries_of(dispensed.id)[-1]
    assert mismatch.action == "identity_check"
    assert json.loads(mismatch.data) == {
        "wristband": other_patient.wristband,
        "patient_id": other_patient.id,
        "result": "mismatch",
        "refused_action": "administer",
    }
    assert mismatch.actor_id == users["clinician"].id


@pytest.mark.req("F-8")
def test_a_wrong_wristband_at_dispense_is_refused_and_recorded(unit_in, users, other_patient):
    released = unit_in("released")
    with pytest.raises(Conflict, match="another patient"):
        perform(
            released,
            "dispense",
            {"clinician": "doctor", "wristband": other_patient.wristband},
            users["technician"],
        )
    assert released.status == "released"
    assert json.loads(entries_of(released.id)[-1].data)["refused_action"] == "dispense"


@pytest.mark.parametrize(
    ("wristband", "error", "code"),
    [
        ("garbage!", Invalid, None),
        ("UNIT", Invalid, "wrong_kind"),  # the unit's own identifier, not a wristband
    ],
)
def test_a_code_that_is_no_wristband_is_refused(dispensed, users, wristband, error, code):
    if wristband == "UNIT":
        wristband = dispensed.din + dispensed.check_character
    before = stored(dispensed.id)
    with pytest.raises(error) as refused:
        perform(dispensed, "administer", bedside(dispensed, wristband), users["clinician"])
    assert "wristband" in refused.value.fields
    if code:
        assert refused.value.code == code
    assert stored(dispensed.id) == before


def test_an_unknown_wristband_is_not_found(dispensed, users):
    from lims.domain.identifiers import make_wristband

    unknown = make_wristband("T0001", 999)
    with pytest.raises(NotFound):
        perform(dispensed, "administer", bedside(dispensed, unknown), users["clinician"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"site": "knee"}, "site"),
        ({"method": "iv infusion"}, "method"),
        ({"volume_ml": 50}, "volume_ml"),  # more than the unit holds
        ({"volume_ml": 0}, "volume_ml"),
        ({"administered_at": "2099-01-01T10:00:00+00:00"}, "administered_at"),
    ],
)
def test_bad_administration_data_is_refused(dispensed, users, overrides, field):
    with pytest.raises(Invalid) as refused:
        perform(dispensed, "administer", bedside(dispensed, **overrides), users["clinician"])
    assert field in refused.value.fields


def test_an_expired_unit_cannot_be_dispensed(unit_in, users):
    released = unit_in("released")
    later = released.expires_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False), pytest.raises(Conflict, match="expired"):
        perform(released, "dispense", {"clinician": "doctor"}, users["technician"])
    assert released.status == "released"


@pytest.mark.req("T-5")
def test_a_unit_not_released_cannot_be_dispensed(unit_in, users):
    product = unit_in("quarantine")
    with pytest.raises(Conflict, match="allowed from: released"):
        perform(product, "dispense", {"clinician": "doctor"}, users["technician"])


@pytest.mark.parametrize("clinician", ["qa", "nobody", "system"])
def test_dispense_is_to_an_active_clinician(unit_in, users, clinician):
    released = unit_in("released")
    with pytest.raises(Invalid) as refused:
        perform(released, "dispense", {"clinician": clinician}, users["technician"])
    assert "clinician" in refused.value.fields


def test_a_returned_unit_goes_back_to_qa(dispensed, users):
    result = perform(
        dispensed, "return", {"condition": "unopened, cold chain kept"}, users["clinician"]
    )
    assert result.unit.status == "returned"
    assert {a.name for a in units.allowed_actions(dispensed, users["qa"])} == {
        "release",
        "exceptional_release",
        "discard",
    }


def test_expire_due_expires_only_units_past_their_time(unit_in, users, runner):
    released = unit_in("released")  # SVF: 24 h after processing
    fresh = unit_in("collected", patient={"mrn": "MRN-7", "name": "Fresh Collection"})
    in_processing = unit_in("in_processing", patient={"mrn": "MRN-8", "name": "Being Processed"})
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=False):
        first = runner.invoke(args=["units", "expire-due"])
        again = runner.invoke(args=["units", "expire-due"])
    assert first.exit_code == 0, first.output
    assert "expired 2 unit(s)" in first.output  # the SVF and the collection's source
    assert "expired 0 unit(s)" in again.output  # safe to run twice
    for unit in (released, fresh, in_processing):
        units.db.session.refresh(unit)
    assert (released.status, fresh.status, in_processing.status) == (
        "expired",
        "expired",
        "in_processing",
    )
    entry = entries_of(released.id)[-1]
    assert (entry.action, entry.actor_name, entry.actor_role) == (
        "expire",
        "LIMS scheduler",
        "system",
    )


def test_nothing_is_due_before_expiry(unit_in):
    unit_in("released")
    assert expiry.expire_due().expired == []


def test_people_cannot_expire_units(unit_in, users):
    from lims.domain.errors import Forbidden

    released = unit_in("released")
    for role in ("technician", "qa", "admin"):
        with pytest.raises(Forbidden):
            perform(released, "expire", {}, users[role])


def test_the_system_account_cannot_sign_in(unit_in):
    from lims.services.admin import accounts

    expiry.expire_due()
    assert accounts.authenticate("system", "") is None
    assert accounts.authenticate("system", "!") is None
