"""Processing records and storage: steps per protocol, completion only when every
required step is on record, splitting into aliquots, box positions, store/move/thaw."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lims.domain.errors import Conflict, Invalid
from lims.extensions import db
from lims.models import Location
from lims.services.actions import processing, storage, units
from lims.services.admin import locations

from .lab import BENCH_LOTS, data_for, entries_of, statements, steps_for, stored


def perform(unit, action, data, user):
    return units.perform_action(unit.id, action, data, user)


@pytest.fixture
def in_processing(unit_in):
    return unit_in("in_processing")


def step(key: str = "wash", **overrides) -> dict:
    (found,) = [s for s in steps_for("ADIPOSE") if s["step"] == key]
    return {**found, **overrides}


def test_each_step_is_recorded_with_operator_times_reagent_and_lot(in_processing, users):
    result = perform(in_processing, "record_step", step(notes="two washes"), users["technician2"])
    data = json.loads(result.entries[0].data)
    assert (data["step"], data["step_name"], data["operator"]) == (
        "wash",
        "Wash lipoaspirate",
        "Second Technician",
    )
    assert (data["reagent"], data["lot"], data["notes"]) == (
        "wash buffer",
        BENCH_LOTS["wash buffer"],
        "two washes",
    )
    assert result.unit.status == "in_processing"
    assert [e.action for e in processing.recorded_steps(in_processing)] == ["record_step"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"step": "centrifuge_twice"}, "step"),  # not a step of this protocol
        ({"step": "density_gradient"}, "step"),  # a marrow step
        ({"lot": None}, "lot"),  # collagenase has a lot
        ({"ended_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat()}, "started_at"),
        ({"ended_at": (datetime.now(UTC) + timedelta(hours=3)).isoformat()}, "started_at"),
        ({"started_at": "2026-11-25T10:00:00"}, "started_at"),  # no zone
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_a_bad_step_is_refused_and_changes_nothing(in_processing, users, overrides, field):
    data = {
        k: v for k, v in {**step("collagenase_digestion"), **overrides}.items() if v is not None
    }
    before = stored(in_processing.id)
    with pytest.raises(Invalid) as refused:
        perform(in_processing, "record_step", data, users["technician"])
    assert field in refused.value.fields, refused.value.fields
    assert stored(in_processing.id) == before


@pytest.mark.req("P11-6")
def test_completion_is_refused_until_every_required_step_is_recorded(in_processing, users):
    for data in steps_for("ADIPOSE", skip=("filter", "red_cell_lysis")):
        perform(in_processing, "record_step", data, users["technician"])
    products = {"products": [{"type": "SVF", "volume_ml": 10, "cell_count": 5_000_000}]}
    before = stored(in_processing.id)
    with pytest.raises(Conflict) as refused:
        perform(in_processing, "complete_processing", products, users["technician"])
    assert refused.value.code == "steps_missing"
    assert "Filter (100 µm)" in refused.value.message
    assert "lysis" not in refused.value.message  # red-cell lysis is optional
    assert stored(in_processing.id) == before
    perform(in_processing, "record_step", step("filter"), users["technician"])
    result = perform(in_processing, "complete_processing", products, users["technician"])
    assert result.unit.status == "processed"


def test_steps_may_come_with_the_completion(in_processing, users):
    result = perform(
        in_processing, "complete_processing", data_for("complete_processing"), users["technician"]
    )
    actions = [e.action for e in result.entries]
    assert actions == ["record_step"] * len(steps_for("ADIPOSE")) + [
        "complete_processing",
        "complete_processing",
    ]
    assert "steps" not in json.loads(result.entries[-2].data)  # each step has its own entry


def test_a_bad_step_in_the_completion_names_its_row(in_processing, users):
    data = data_for("complete_processing")
    data["steps"][1] = {**data["steps"][1], "lot": None}
    data["steps"][1].pop("lot")
    with pytest.raises(Invalid) as refused:
        perform(in_processing, "complete_processing", data, users["technician"])
    assert "steps.1.lot" in refused.value.fields
    assert entries_of(in_processing.id)[-1].action == "start_processing"


@pytest.mark.req("T-6")
def test_a_product_carries_its_expiry_from_the_catalogue(unit_in):
    product = unit_in("quarantine")
    assert product.expires_at - product.processed_at == timedelta(hours=24)


@pytest.mark.req("I-4")
def test_split_makes_aliquots_with_the_next_divisions(unit_in, users):
    product = unit_in("quarantine")
    first = perform(
        product, "split", {"aliquots": [{"volume_ml": 2}, {"volume_ml": 3}]}, users["technician"]
    )
    second = perform(product, "split", {"aliquots": [{"volume_ml": 1}]}, users["technician"])
    divisions = [u.division for u in (*first.products, *second.products)]
    assert divisions == ["A0", "B0", "C0"]
    for aliquot in (*first.products, *second.products):
        assert (aliquot.din, aliquot.product_code, aliquot.patient_id, aliquot.parent_id) == (
            product.din,
            product.product_code,
            product.patient_id,
            product.id,
        )
        assert aliquot.expires_at == product.expires_at
        assert entries_of(aliquot.id)[0].action == "split"
    assert product.volume_ml == 4
    assert product.cell_count == 400_000  # 1 000 000 cells in 10 ml, 6 ml split off


@pytest.mark.parametrize("testing", ["performed", "not_performed", None])
def test_products_and_aliquots_carry_their_collections_donor_testing(unit_in, users, testing):
    overrides = {} if testing is None else {"donor_testing": testing}
    product = unit_in("quarantine", **overrides)

    aliquots = perform(product, "split", {"aliquots": [{"volume_ml": 2}]}, users["technician"])

    assert product.parent.donor_testing == testing
    assert [u.donor_testing for u in (product, *aliquots.products)] == [testing, testing]


@pytest.mark.parametrize(
    ("aliquots", "field"),
    [
        ([{"volume_ml": 11}], "aliquots"),
        ([], "aliquots"),
        ([{"volume_ml": 0}], "aliquots.0.volume_ml"),
    ],
)
def test_split_cannot_make_more_than_the_unit_holds(unit_in, users, aliquots, field):
    product = unit_in("quarantine")
    with pytest.raises(Invalid) as refused:
        perform(product, "split", {"aliquots": aliquots}, users["technician"])
    assert field in refused.value.fields


def test_an_aliquot_is_not_split_again_and_a_source_not_at_all(unit_in, users):
    product = unit_in("quarantine")
    (aliquot,) = perform(
        product, "split", {"aliquots": [{"volume_ml": 2}]}, users["technician"]
    ).products
    with pytest.raises(Conflict, match="not split again"):
        perform(aliquot, "split", {"aliquots": [{"volume_ml": 1}]}, users["technician"])


@pytest.fixture
def box(users):
    fridge = locations.create_location("Fridge", "refrigerator", None, users["admin"])
    return locations.create_location("Box", "box", fridge, users["admin"], rows=2, columns=3)


def test_a_box_grid_has_a_scannable_position_per_cell(box):
    names = [p.name for p in box.children]
    assert names == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert len({p.code for p in box.children}) == 6
    assert storage.occupancy(box) == (0, 6)


def test_a_position_reads_the_places_above_it_in_one_statement(users):
    admin = users["admin"]
    place = locations.create_location("Cryo room", "room", None, admin)
    for name, kind in (("Tank 1", "freezer"), ("Rack 4", "rack")):
        place = locations.create_location(name, kind, place, admin)
    box = locations.create_location("Box 9", "box", place, admin, rows=1, columns=2)
    position_id = box.children[1].id
    db.session.expunge_all()
    position = db.session.get(Location, position_id)
    with statements() as seen:
        path = position.path
    assert path == "Cryo room › Tank 1 › Rack 4 › Box 9 › A2"
    assert len(seen) == 1, seen
    with statements() as again:
        assert position.path == path
    assert again == []


def test_a_position_holds_one_unit(box, unit_in, users):
    a1 = box.children[0]
    first = unit_in("quarantine")
    second = unit_in("quarantine", patient={"mrn": "MRN-2", "name": "Other Patient"})
    perform(
        first, "store", {"location": a1.code, "storage_temperature_c": 4.0}, users["technician"]
    )
    before = stored(second.id)
    with pytest.raises(Conflict) as refused:
        perform(
            second,
            "store",
            {"location": a1.code, "storage_temperature_c": 4.0},
            users["technician"],
        )
    assert refused.value.code == "position_occupied"
    assert stored(second.id) == before
    assert storage.occupancy(box) == (1, 6)
    grid = storage.grid_of(box)
    assert [[u.id if u else None for _, u in row] for row in grid] == [
        [first.id, None, None],
        [None, None, None],
    ]
    # moved on, the position is free again
    perform(first, "move", {"location": box.children[1].code}, users["technician"])
    perform(
        second, "store", {"location": a1.code, "storage_temperature_c": 5.0}, users["technician"]
    )


def test_a_box_of_positions_asks_for_a_position(box, unit_in, users):
    product = unit_in("quarantine")
    with pytest.raises(Invalid) as refused:
        perform(
            product,
            "store",
            {"location": box.code, "storage_temperature_c": 4.0},
            users["technician"],
        )
    assert refused.value.code == "position_needed"


@pytest.mark.req("T-6")
@pytest.mark.parametrize(
    ("temperature", "ok"), [(2.0, True), (8.0, True), (9.0, False), (-80.0, False)]
)
def test_storage_temperature_must_fit_the_product(box, unit_in, users, temperature, ok):
    product = unit_in("quarantine")
    data = {"location": box.children[0].code, "storage_temperature_c": temperature}
    if ok:
        perform(product, "store", data, users["technician"])
    else:
        with pytest.raises(Invalid) as refused:
            perform(product, "store", data, users["technician"])
        assert "storage_temperature_c" in refused.value.fields


@pytest.mark.req("T-6")
def test_store_records_the_temperature(box, unit_in, users):
    product = unit_in("quarantine")
    with pytest.raises(Invalid) as refused:
        perform(product, "store", {"location": box.children[0].code}, users["technician"])
    assert "storage_temperature_c" in refused.value.fields


def test_only_a_frozen_unit_is_thawed(unit_in, users):
    product = unit_in("quarantine")  # fresh SVF
    with pytest.raises(Conflict, match="not cryopreserved"):
        perform(product, "thaw", {}, users["technician"])
    assert "thaw" not in {a.name for a in units.allowed_actions(product, users["technician"])}
