"""A collection from registration to products in quarantine, for each source type
(docs/product.md §4): status, custodian and ledger after every step."""

from __future__ import annotations

import itertools
import json

import pytest

from lims.domain.catalogue import unit_type
from lims.services.actions.units import perform_action
from lims.services.custody import ledger

from .lab import KINDS, PRODUCT_OF, data_for, entries_of, steps_for

# step, who does it, status after it, who holds the unit after it (None: the courier)
STEPS = [
    ("dispatch", "clinician", "in_transit", None),
    ("receive", "technician", "received", "technician"),
    ("start_processing", "technician", "in_processing", "technician"),
    ("complete_processing", "technician2", "processed", "technician2"),
]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


def test_collection_goes_from_registration_to_quarantine(kind, users, register):
    unit = register(kind, as_="clinician")
    assert (unit.status, unit.custodian_id, unit.version) == ("collected", users["clinician"].id, 1)

    for step, who, status, holder in STEPS:
        version = unit.version
        result = perform_action(unit.id, step, data_for(step, kind), users[who])
        assert result.unit.status == status, step
        assert result.unit.custodian_id == (users[holder].id if holder else None), step
        assert result.unit.version == version + 1, step

    assert unit.received_at and unit.processing_started_at and unit.processed_at
    steps = len(steps_for(kind))  # recorded with the completion, one entry each
    assert ledger.count() == 1 + len(STEPS) + steps + len(result.products)
    assert ledger.verify().intact


@pytest.mark.req("T-1", "T-5")
def test_processing_makes_products_in_quarantine_under_the_same_din(kind, users, register, act):
    unit = register(kind)
    for step in ("receive", "start_processing"):
        act(unit, step)
    products = act(unit, "complete_processing", as_="technician2").products

    expected_type = unit_type(PRODUCT_OF[kind])
    assert len(products) == 1
    product = products[0]
    assert product.status == "quarantine"
    assert (product.din, product.check_character) == (unit.din, unit.check_character)
    assert (product.unit_type, product.product_code) == (
        expected_type.key,
        expected_type.product_code,
    )
    assert product.product_code != unit.product_code
    assert product.division == "00"
    assert (product.parent_id, product.patient_id) == (unit.id, unit.patient_id)
    assert product.processed_at == unit.processed_at
    assert product.expires_at == unit.processed_at + expected_type.shelf_life
    assert product.custodian_id == users["technician2"].id
    assert product in unit.children


@pytest.mark.req("P11-1")
def test_ledger_has_one_linked_entry_per_step_and_per_product(kind, users, register, act):
    unit = register(kind)
    act(unit, "dispatch")
    for step in ("receive", "start_processing"):
        act(unit, step)
    product = act(unit, "complete_processing").products[0]

    entries = entries_of(unit.id)
    steps = len(steps_for(kind))
    assert [e.action for e in entries] == [
        "register",
        "dispatch",
        "receive",
        "start_processing",
        *["record_step"] * steps,
        "complete_processing",
    ]
    assert [(e.from_status, e.to_status) for e in entries] == [
        (None, "collected"),
        ("collected", "in_transit"),
        ("in_transit", "received"),
        ("received", "in_processing"),
        *[("in_processing", "in_processing")] * steps,
        ("in_processing", "processed"),
    ]
    for before, after in itertools.pairwise(entries):
        assert after.from_custodian_id == before.to_custodian_id

    (product_entry,) = entries_of(product.id)
    assert (product_entry.action, product_entry.from_status, product_entry.to_status) == (
        "complete_processing",
        None,
        "quarantine",
    )
    assert json.loads(product_entry.data)["parent"]["unit_id"] == unit.id
    source_data = json.loads(entries[-1].data)
    assert [p["unit_id"] for p in source_data["created_units"]] == [product.id]
    # what the technician entered stays in the source's entry, beside the references
    assert source_data["products"][0]["volume_ml"] == product.volume_ml

    chain = [*entries, product_entry]
    assert sorted(e.seq for e in chain) == list(range(1, 7 + steps))
    by_seq = sorted(chain, key=lambda e: e.seq)
    assert by_seq[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(by_seq):
        assert after.prev_hash == before.entry_hash
    assert ledger.verify().checked == 6 + steps


@pytest.mark.req("P11-1", "T-6", "T-8")
def test_each_entry_records_who_did_it_and_what_was_recorded(users, register, act):
    unit = register("ADIPOSE", as_="clinician")
    act(unit, "receive", temperature_c=5.5, container_intact=True, volume_ml=240)
    register_entry, receive_entry = entries_of(unit.id)

    assert (register_entry.actor_id, register_entry.actor_name, register_entry.actor_role) == (
        users["clinician"].id,
        "Test Clinician",
        "clinician",
    )
    assert json.loads(register_entry.data)["collection_site"] == "abdomen"
    assert receive_entry.actor_id == users["technician"].id
    recorded = json.loads(receive_entry.data)
    assert (recorded["temperature_c"], recorded["volume_ml"]) == (5.5, 240)
    assert recorded["acceptance"] == "accepted"
    assert unit.volume_ml == 240


@pytest.mark.req("A11-2")
def test_rejection_and_discard_record_the_reason(register, act):
    rejected, discarded = register(), register()
    act(rejected, "reject", reason="container leaking")
    act(discarded, "discard", as_="qa", reason="patient withdrew consent")
    assert (rejected.status, discarded.status) == ("rejected", "discarded")
    assert entries_of(rejected.id)[-1].reason == "container leaking"
    assert entries_of(discarded.id)[-1].reason == "patient withdrew consent"
