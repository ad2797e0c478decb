"""The lifecycle table against PRODUCT.md §4, written out here by hand so that a change to
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
T, C, Q, A = Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN
FINAL = {S.ADMINISTERED, S.REJECTED, S.DISCARDED, S.EXPIRED}
NON_FINAL = set(Status) - FINAL
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
    "start_processing": {T: {S.RECEIVED}},
    "complete_processing": {T: {S.IN_PROCESSING}},
    "reject": {T: {S.COLLECTED, S.IN_TRANSIT, S.RECEIVED}, Q: UP_TO_QUARANTINE},
    "move": {T: NON_FINAL},
    "discard": {T: NON_FINAL, Q: NON_FINAL},
}
TO_STATUS = {
    "register": S.COLLECTED,
    "dispatch": S.IN_TRANSIT,
    "receive": S.RECEIVED,
    "start_processing": S.IN_PROCESSING,
    "complete_processing": S.PROCESSED,
    "reject": S.REJECTED,
    "move": None,  # storing a unit changes where it is, not its status
    "discard": S.DISCARDED,
}
MUST_RECORD = {
    "register": {"patient", "type", "collection_site", "volume_ml", "collected_at"},
    "dispatch": {"courier", "transport_condition"},
    "receive": {"temperature_c", "container_intact", "volume_ml"},
    "start_processing": {"protocol", "equipment"},
    "complete_processing": {"products"},
    "reject": {"reason"},
    "move": {"location"},
    "discard": {"reason"},
}


def test_the_table_has_exactly_the_actions_built_so_far():
    assert set(ACTIONS) == set(TO_STATUS)


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
        (S.COLLECTED, T, {"dispatch", "receive", "reject", "move", "discard"}),
        (S.IN_TRANSIT, T, {"receive", "reject", "move", "discard"}),
        (S.RECEIVED, T, {"start_processing", "reject", "move", "discard"}),
        (S.IN_PROCESSING, T, {"complete_processing", "move", "discard"}),
        (S.IN_PROCESSING, Q, {"reject", "discard"}),
        (S.QUARANTINE, Q, {"reject", "discard"}),
        (S.QUARANTINE, T, {"move", "discard"}),
        (S.RELEASED, Q, {"discard"}),
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
    assert custody.pop("move") == "keep"  # storing a unit does not hand it over
    assert set(custody.values()) == {"actor"}


# ---------------------------------------------------------------------------- guards


@dataclass
class FakeUnit:
    unit_type: str = "ADIPOSE"
    status: str = "collected"
    collected_at: datetime = datetime(2026, 1, 1, 8, tzinfo=UTC)
    expires_at: datetime | None = None


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
