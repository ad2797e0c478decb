"""Every action from every reachable status, by every role: what the lifecycle table allows
succeeds; everything else is refused with the right error and changes nothing.

``tests/unit/test_lifecycle_table.py`` pins the table to docs/product.md §4; here the service is
held to the table."""

from __future__ import annotations

import pytest

from lims.domain.errors import Conflict, Invalid, NotFound, ServiceError
from lims.domain.lifecycle import ACTIONS, UNIT_ACTIONS
from lims.services.actions.units import perform_action
from lims.services.admin.locations import create_location
from tests.backends import backend  # noqa: F401  (SQLite alone: the lifecycle table's refusals; that a refusal changes nothing is tested on both in test_release_rules, test_qc_results and test_deviations)

from .lab import REACHABLE, data_for, pass_all_qc, qc_data, stored

ROLES = ("technician", "clinician", "qa", "admin")
# Allowed by the table, but refused by a state guard for the unit these tests walk (fresh
# ADIPOSE → SVF): thawing needs a cryopreserved unit, expiry a unit past its time, and
# processing further a product a protocol takes (culture is only from quarantine/released).
# A returned product whose QC is complete is re-released the ordinary way.
GUARDED = {("thaw", "*"), ("start_processing", "processed"), ("exceptional_release", "returned")}
ALLOWED = [
    (status, role, name)
    for status in REACHABLE
    for role in ROLES
    for name, action in UNIT_ACTIONS.items()
    if action.allows(status, role) and (name, "*") not in GUARDED and (name, status) not in GUARDED
]


def prepare(name: str, unit, users) -> None:
    """What an action needs beyond the table: QC before release (a failing result before an
    exceptional release), a storage place to scan."""
    if name in ("move", "store"):
        create_location("Shelf", "bench", None, users["admin"])  # SHELF, in data_for
    if name == "release" and unit.status == "quarantine":
        pass_all_qc(unit, users["technician"])
    if name == "exceptional_release" and unit.status == "quarantine":
        perform_action(unit.id, "record_qc", qc_data("viability", 55.0), users["technician"])


@pytest.mark.req("P11-6", "P11-7")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status", REACHABLE)
def test_every_disallowed_action_is_refused_and_changes_nothing(status, role, users, unit_in):
    unit = unit_in(status)
    before = stored(unit.id)
    refused, expected = {}, {}
    for name, action in UNIT_ACTIONS.items():
        if action.allows(status, role):
            continue
        expected[name] = (
            (403, "role_not_allowed") if role not in action.roles else (409, "not_allowed_now")
        )
        with pytest.raises(ServiceError) as error:
            perform_action(unit.id, name, data_for(name, unit.unit_type, unit), users[role])
        refused[name] = (error.value.http_status, error.value.code)
        assert stored(unit.id) == before, f"{name} changed the unit or the ledger"
    assert refused == expected


@pytest.mark.parametrize(("status", "role", "name"), ALLOWED)
def test_every_allowed_action_succeeds(status, role, name, users, unit_in):
    unit = unit_in(status)
    prepare(name, unit, users)
    before = stored(unit.id)
    result = perform_action(unit.id, name, data_for(name, unit.unit_type, unit), users[role])
    assert result.unit.status == (ACTIONS[name].to_status or status)
    assert result.unit.version == before["version"] + 1
    assert stored(unit.id)["ledger_entries"] == before["ledger_entries"] + len(result.entries)


def test_refusal_names_the_statuses_the_action_is_allowed_from(users, unit_in):
    unit = unit_in("collected")
    with pytest.raises(Conflict, match="allowed from: quarantine, received, released"):
        perform_action(
            unit.id, "start_processing", data_for("start_processing"), users["technician"]
        )


def test_a_technician_is_told_rejection_after_receipt_is_for_qa(users, unit_in):
    unit = unit_in("in_processing")
    with pytest.raises(Conflict, match="allowed from: collected, in transit, received"):
        perform_action(unit.id, "reject", data_for("reject"), users["technician"])


@pytest.mark.req("LIMS-2")
def test_a_stale_version_is_refused_and_changes_nothing(users, unit_in):
    unit = unit_in("received")
    before = stored(unit.id)
    with pytest.raises(Conflict) as refused:
        perform_action(
            unit.id,
            "start_processing",
            data_for("start_processing"),
            users["technician"],
            expected_version=before["version"] - 1,
        )
    assert refused.value.code == "stale_version"
    assert stored(unit.id) == before


def test_the_current_version_is_accepted(users, unit_in):
    unit = unit_in("received")
    result = perform_action(
        unit.id,
        "start_processing",
        data_for("start_processing"),
        users["technician"],
        expected_version=unit.version,
    )
    assert result.unit.status == "in_processing"


@pytest.mark.parametrize("name", ["register", "approve", "", None, 7, "DISPATCH", "expire "])
def test_an_unknown_action_is_invalid(name, users, unit_in):
    unit = unit_in("collected")
    before = stored(unit.id)
    with pytest.raises(Invalid) as refused:
        perform_action(unit.id, name, {}, users["technician"])
    assert refused.value.code == "unknown_action"
    assert stored(unit.id) == before


@pytest.mark.parametrize("unit_id", [999_999, 0, -1, 2**40, "abc", None, 1.5, True])
def test_an_unknown_unit_is_not_found(unit_id, users):
    with pytest.raises(NotFound):
        perform_action(unit_id, "dispatch", data_for("dispatch"), users["technician"])


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("dispatch", {"courier": "A"}, "transport_condition"),
        ("dispatch", {**data_for("dispatch"), "courier": "x" * 121}, "courier"),
        ("receive", {**data_for("receive"), "temperature_c": "cold"}, "temperature_c"),
        ("receive", {**data_for("receive"), "container_intact": "yes"}, "container_intact"),
        ("receive", {**data_for("receive"), "volume_ml": 0}, "volume_ml"),
        ("receive", {**data_for("receive"), "colour": "red"}, "colour"),
        ("reject", {"reason": "no"}, "reason"),
    ],
)
def test_bad_action_data_is_invalid_per_field_and_changes_nothing(
    name, data, field, users, unit_in
):
    unit = unit_in("collected")
    before = stored(unit.id)
    with pytest.raises(Invalid) as refused:
        perform_action(unit.id, name, data, users["technician"])
    assert field in refused.value.fields
    assert stored(unit.id) == before


@pytest.mark.parametrize("data", [None, [], "receive", 42])
def test_action_data_that_is_not_an_object_is_invalid(data, users, unit_in):
    unit = unit_in("collected")
    with pytest.raises(Invalid):
        perform_action(unit.id, "receive", data, users["technician"])
