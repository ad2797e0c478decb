"""The lifecycle table against docs/product.md §4, written out here by hand so that a change to
the table that the spec does not make is caught. Pure domain: no app, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from lims.domain.lifecycle import (
    ACTIONS,
    CompleteProcessingFields,
    Context,
    ReceiveFields,
    RegisterFields,
    Status,
    available_actions,
    collected_not_in_future,
    not_expired,
    products_match_source,
    receipt_acceptance,
)
from lims.domain.roles import Role

S = Status
T, C, Q, A, SYS = Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN, Role.SYSTEM
FINAL = {S.ADMINISTERED, S.REJECTED, S.DISCARDED, S.EXPIRED}
NON_FINAL = set(Status) - FINAL
# "any live status" for expiry: not while processing, not a source already processed
EXPIRABLE = NON_FINAL - {S.IN_PROCESSING, S.PROCESSED}
UP_TO_QUARANTINE = {
    S.COLLECTED,
    S.IN_TRANSIT,
    S.RECEIVED,
    S.IN_PROCESSING,
    S.PROCESSED,
    S.QUARANTINE,
}

# action -> role -> statuses it may start from (roles not listed: none)
SPEC: dict[str, dict[Role, set[Status]]] = {
    "dispatch": {C: {S.COLLECTED}, T: {S.COLLECTED}},
    "receive": {T: {S.COLLECTED, S.IN_TRANSIT}},
    # a received source, or an SVF/BM-MNC product taken into culture (a guard checks which)
    "start_processing": {T: {S.RECEIVED, S.QUARANTINE, S.RELEASED}},
    "record_step": {T: {S.IN_PROCESSING}},
    "complete_processing": {T: {S.IN_PROCESSING}},
    "record_qc": {T: {S.QUARANTINE, S.RELEASED, S.DISPENSED}},
    "release": {Q: {S.QUARANTINE, S.RETURNED}},
    "exceptional_release": {Q: {S.QUARANTINE, S.RETURNED}},
    "split": {T: {S.QUARANTINE, S.RELEASED}},
    "store": {T: NON_FINAL},
    "move": {T: NON_FINAL},
    "thaw": {T: NON_FINAL},
    "dispense": {T: {S.RELEASED}},
    "administer": {C: {S.DISPENSED}},
    "return": {T: {S.DISPENSED}, C: {S.DISPENSED}},
    "reject": {T: {S.COLLECTED, S.IN_TRANSIT, S.RECEIVED}, Q: UP_TO_QUARANTINE},
    "discard": {T: NON_FINAL, Q: NON_FINAL},
    "expire": {SYS: EXPIRABLE},
}
TO_STATUS = {
    "register": S.COLLECTED,
    "dispatch": S.IN_TRANSIT,
    "receive": S.RECEIVED,
    "start_processing": S.IN_PROCESSING,
    "complete_processing": S.PROCESSED,
    "record_step": None,
    "record_qc": None,
    "release": S.RELEASED,
    "exceptional_release": S.RELEASED,
    "split": None,  # aliquots share the parent's status
    "store": None,
    "move": None,  # storing a unit changes where it is, not its status
    "thaw": None,
    "dispense": S.DISPENSED,
    "administer": S.ADMINISTERED,
    "return": S.RETURNED,
    "reject": S.REJECTED,
    "discard": S.DISCARDED,
    "expire": S.EXPIRED,
}
MUST_RECORD = {
    "register": {"patient", "type", "collection_site", "volume_ml", "collected_at"},
    "dispatch": {"courier", "transport_condition"},
    "receive": {"temperature_c", "container_intact", "volume_ml"},
    "start_processing": {"protocol", "equipment"},
    "complete_processing": {"products"},
    "record_step": {"step", "started_at", "ended_at"},
    "record_qc": {"test", "value", "method", "lot"},
    "release": {"password", "meaning"},
    "exceptional_release": {
        "password",
        "meaning",
        "justification",
        "physician",
        "physician_password",
    },
    "split": {"aliquots"},
    "store": {"location", "storage_temperature_c"},
    "move": {"location"},
    "thaw": set(),
    "dispense": {"clinician"},
    "administer": {"wristband", "site", "method", "volume_ml"},
    "return": {"condition"},
    "reject": {"reason"},  # QA must sign too: a guard asks for the password
    "discard": {"reason"},
    "expire": set(),
}


def test_the_table_has_exactly_the_actions_built_so_far():
    assert set(ACTIONS) == set(TO_STATUS)


@pytest.mark.req("P11-6", "P11-7")
@pytest.mark.parametrize("name", sorted(SPEC))
def test_who_may_start_each_action_from_which_status(name):
    granted = {
        role: {status for status in Status if ACTIONS[name].allows(status, role)} for role in Role
    }
    expected = {role: SPEC[name].get(role, set()) for role in Role}
    assert granted == expected


def test_register_is_for_clinicians_and_technicians_and_starts_from_nothing():
    register = ACTIONS["register"]
    assert register.roles == {C, T}
    assert register.from_statuses == set()


@pytest.mark.parametrize(("name", "status"), sorted(TO_STATUS.items()))
def test_each_action_leads_to_its_status(name, status):
    assert ACTIONS[name].to_status == status


@pytest.mark.req("F-4")
@pytest.mark.parametrize(("name", "fields"), sorted(MUST_RECORD.items()))
def test_each_action_requires_what_it_must_record(name, fields):
    model = ACTIONS[name].fields
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    assert required == fields


@pytest.mark.parametrize("status", sorted(FINAL))
@pytest.mark.parametrize("role", list(Role))
def test_final_statuses_allow_no_action(status, role):
    assert available_actions(status, role) == []
    assert status.is_final


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("role", list(Role))
def test_available_actions_are_exactly_those_the_spec_grants(status, role):
    names = {a.name for a in available_actions(status, role)}
    assert names == {n for n, by_role in SPEC.items() if status in by_role.get(role, set())}


@pytest.mark.parametrize(
    ("status", "role", "expected"),
    [
        (S.COLLECTED, C, {"dispatch"}),
        (S.COLLECTED, T, {"dispatch", "receive", "reject", "store", "move", "thaw", "discard"}),
        (S.IN_TRANSIT, T, {"receive", "reject", "store", "move", "thaw", "discard"}),
        (S.RECEIVED, T, {"start_processing", "reject", "store", "move", "thaw", "discard"}),
        (
            S.IN_PROCESSING,
            T,
            {"record_step", "complete_processing", "store", "move", "thaw", "discard"},
        ),
        (S.IN_PROCESSING, Q, {"reject", "discard"}),
        (S.QUARANTINE, Q, {"release", "exceptional_release", "reject", "discard"}),
        (
            S.QUARANTINE,
            T,
            {"start_processing", "record_qc", "split", "store", "move", "thaw", "discard"},
        ),
        (S.RELEASED, Q, {"discard"}),
        (S.DISPENSED, C, {"administer", "return"}),
        (S.RETURNED, Q, {"release", "exceptional_release", "discard"}),
        (S.COLLECTED, A, set()),
    ],
)
def test_available_actions_at_a_glance(status, role, expected):
    assert {a.name for a in available_actions(status, role)} == expected


def test_admins_may_do_nothing_to_units():
    assert all(A not in action.roles for action in ACTIONS.values())


def test_custody_follows_the_material():
    custody = {name: action.custody for name, action in ACTIONS.items()}
    assert custody.pop("dispatch") == "none"  # the courier has it, not a user
    assert custody.pop("expire") == "none"  # nobody holds an expired unit for use
    keep = {"record_step", "record_qc", "release", "exceptional_release", "split", "store"}
    keep |= {"move", "thaw", "dispense"}  # dispense hands it to the named clinician
    for name in keep:
        assert custody.pop(name) == "keep", name
    assert set(custody.values()) == {"actor"}


def test_signed_actions_are_release_exceptional_release_and_reject():
    assert {n for n, a in ACTIONS.items() if a.signed} == {
        "release",
        "exceptional_release",
        "reject",
    }


# ---------------------------------------------------------------------------- guards


@dataclass
class FakeUnit:
    unit_type: str = "ADIPOSE"
    status: str = "collected"
    collected_at: datetime = datetime(2026, 1, 1, 8, tzinfo=UTC)
    expires_at: datetime | None = None
    division: str = "00"
    volume_ml: float = 10.0
    thawed_at: datetime | None = None
    qc_alert: str | None = None


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def receipt(**overrides) -> ReceiveFields:
    data = {"temperature_c": 4, "container_intact": True, "label_matches": True, "volume_ml": 200}
    return ReceiveFields(**{**data, **overrides})


@pytest.mark.parametrize(
    ("kind", "temperature", "accepted"),
    [
        ("ADIPOSE", 2, True),
        ("ADIPOSE", 8, True),
        ("ADIPOSE", 1.9, False),
        ("ADIPOSE", 8.1, False),
        ("MARROW", 15, True),
        ("MARROW", 25, True),
        ("MARROW", 4, False),
        ("BLOOD", 26, False),
    ],
)
def test_receipt_temperature_must_be_in_the_storage_range(kind, temperature, accepted):
    result = receipt_acceptance(FakeUnit(kind), receipt(temperature_c=temperature), NOW)
    assert result.accepted is accepted


@pytest.mark.parametrize(
    ("overrides", "hours_after_collection", "deviation"),
    [
        ({"container_intact": False}, 1, "container is not intact"),
        ({"label_matches": False}, 1, "label does not match"),
        ({}, 25, "received later than allowed"),
    ],
)
def test_each_receipt_problem_is_named(overrides, hours_after_collection, deviation):
    unit = FakeUnit(collected_at=NOW - timedelta(hours=hours_after_collection))
    result = receipt_acceptance(unit, receipt(**overrides), NOW)
    assert not result.accepted
    assert [d for d in result.deviations if deviation in d]


def test_an_expired_unit_is_refused_by_the_state_guard():
    unit = FakeUnit(expires_at=NOW - timedelta(seconds=1))
    assert "expired" in not_expired(Context(unit, None, T, NOW))
    assert not_expired(Context(FakeUnit(expires_at=NOW + timedelta(hours=1)), None, T, NOW)) is None


@pytest.mark.parametrize(
    ("source", "products", "problem"),
    [
        ("ADIPOSE", ["SVF"], None),
        ("MARROW", ["BM-MNC"], None),
        ("BLOOD", ["PRP"], None),
        ("ADIPOSE", ["PRP"], "cannot be made from ADIPOSE"),
        ("ADIPOSE", ["SVF", "SVF"], "each product type once"),
    ],
)
def test_products_must_come_from_their_source(source, products, problem):
    fields = CompleteProcessingFields(products=[{"type": t, "volume_ml": 5} for t in products])
    found = products_match_source(Context(FakeUnit(source), fields, T, NOW))
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("collected_at", "problem"),
    [
        (NOW - timedelta(hours=1), None),
        (NOW + timedelta(hours=1), "in the future"),
        (NOW - timedelta(days=31), "more than 30 days ago"),
        (datetime(2026, 1, 1, 11), "time zone"),
    ],
)
def test_collection_time_must_be_plausible(collected_at, problem):
    fields = RegisterFields(
        patient={"mrn": "M1", "name": "Pat"},
        type="ADIPOSE",
        collection_site="abdomen",
        volume_ml=100,
        collected_at=collected_at,
    )
    found = collected_not_in_future(Context(None, fields, C, NOW))
    assert (found is None) if problem is None else (problem in found)
