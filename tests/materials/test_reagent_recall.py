"""The recall look-up: every unit a lot touched — the units it was used on and every unit made
from them (products, aliquots) — with their patients, a page at a time with the totals, and
the same number of queries however many units a page holds."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from lims.domain.errors import Forbidden, NotFound
from lims.extensions import db
from lims.services import access
from lims.services.materials import reagents

from .reagent_lab import accepted, use_on


@pytest.fixture
def processed(register, act):
    """``processed(mrn)``: a fresh collection processed into its product: (source, product)."""

    def _processed(mrn: str = "MRN-1", name: str = "Pat Example", kind: str = "ADIPOSE"):
        source = register(kind, mrn=mrn, name=name)
        for action in ("receive", "start_processing"):
            act(source, action)
        product = act(source, "complete_processing").products[0]
        db.session.commit()
        return source, product

    return _processed


@pytest.mark.req("T-3")
def test_the_units_a_lot_was_used_on_and_those_made_from_them(users, processed, act):
    lot = accepted(users)
    other = accepted(users, lot_number="OTHER-1")
    source, product = processed()
    aliquot = act(product, "split", aliquots=[{"volume_ml": 1}]).products[0]
    use_on(source, lot, step="collagenase_digestion", quantity=2.0)
    use_on(source, other)  # another lot on the same unit: not this lot's business
    elsewhere, _ = processed(mrn="MRN-2", name="Other Patient")
    use_on(elsewhere, other)

    found = reagents.recall(lot.id, users["qa"])

    rows = {row.unit.id: row for row in found.rows}
    assert set(rows) == {source.id, product.id, aliquot.id}
    assert (found.total, found.direct, found.patients) == (3, 1, 1)
    assert rows[source.id].direct and rows[source.id].via is None
    assert [(u.step, u.quantity) for u in rows[source.id].uses] == [("collagenase_digestion", 2.0)]
    assert not rows[product.id].direct and rows[product.id].via.id == source.id
    assert not rows[aliquot.id].direct and rows[aliquot.id].via.id == source.id
    assert rows[aliquot.id].uses == []
    assert {row.unit.patient.mrn for row in found.rows} == {"MRN-1"}


def test_every_patient_of_the_lot_is_named_once_per_unit(users, processed):
    lot = accepted(users)
    first, first_product = processed(mrn="MRN-1", name="First Patient")
    _, second_product = processed(mrn="MRN-2", name="Second Patient")
    use_on(first, lot, step="wash")
    use_on(first, lot, step="resuspend")  # used twice on one unit: one row, two uses
    use_on(second_product, lot, step="seed")  # used on a product: its source is not touched

    found = reagents.recall(lot.id, users["technician"])

    assert (found.total, found.direct, found.patients) == (3, 2, 2)
    by_id = {row.unit.id: row for row in found.rows}
    assert set(by_id) == {first.id, first_product.id, second_product.id}
    assert [u.step for u in by_id[first.id].uses] == ["wash", "resuspend"]
    assert {row.unit.patient.name for row in found.rows} == {"First Patient", "Second Patient"}


def test_a_unit_used_on_directly_and_made_from_a_touched_one_is_direct(users, processed):
    lot = accepted(users)
    source, product = processed()
    use_on(source, lot, step="wash")
    use_on(product, lot, step="seed")

    found = reagents.recall(lot.id, users["admin"])

    assert (found.total, found.direct) == (2, 2)
    assert all(row.direct for row in found.rows)


def test_pages_keep_a_collections_units_together_and_count_everything(users, processed):
    lot = accepted(users)
    made = [processed(mrn=f"MRN-{n}", name=f"Patient {n}") for n in range(3)]
    for source, _ in made:
        use_on(source, lot)

    pages = [reagents.recall(lot.id, users["qa"], page=p, per_page=2) for p in (1, 2, 3, 4)]

    assert [len(p.rows) for p in pages] == [2, 2, 2, 0]
    assert {(p.total, p.direct, p.patients, p.pages) for p in pages} == {(6, 3, 3, 3)}
    seen = [row.unit for p in pages for row in p.rows]
    assert [(u.din, u.id) for u in seen] == sorted((u.din, u.id) for u in seen)
    assert seen[0].din == seen[1].din  # a source and its product on one page
    assert [row.unit.id for row in reagents.recall_rows(lot.id, users["qa"], batch=4)] == [
        u.id for u in seen
    ]


def test_a_lot_not_used_yet_touched_nothing(users):
    found = reagents.recall(accepted(users).id, users["qa"])
    assert (found.rows, found.total, found.direct, found.patients, found.pages) == ([], 0, 0, 0, 1)


def test_the_page_costs_the_same_queries_however_many_units_it_holds(users, processed):
    small, large = accepted(users, lot_number="S-1"), accepted(users, lot_number="L-1")
    source, _ = processed(mrn="MRN-S")
    use_on(source, small)
    for n in range(4):
        source, _ = processed(mrn=f"MRN-L{n}", name=f"Patient {n}")
        use_on(source, large)
    db.session.expire_all()

    def statements(lot_id: int) -> int:
        count = 0

        def counted(*_args) -> None:
            nonlocal count
            count += 1

        engine = db.engine
        access.forget_site_scopes()  # as a request starts: its sites read once (decision 103)
        event.listen(engine, "before_cursor_execute", counted)
        try:
            found = reagents.recall(lot_id, users["qa"])
            [row.unit.patient.name for row in found.rows]  # everything the page shows
            [row.via.product_code for row in found.rows if row.via]
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        db.session.expire_all()
        return count

    assert statements(small.id) == statements(large.id)


def test_clinicians_do_not_look_lots_up(users):
    lot = accepted(users)
    with pytest.raises(Forbidden):
        reagents.recall(lot.id, users["clinician"])


@pytest.mark.parametrize("lot_id", [0, 10**9, "7x"])
def test_an_unknown_lot_is_not_found(users, lot_id):
    with pytest.raises(NotFound):
        reagents.recall(lot_id, users["qa"])
