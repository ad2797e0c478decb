"""The recall benchmark runs end to end on a tiny seeded lab (the figures in
docs/performance.md come from the same code on 100 000 units), and the seed's lots and uses
look like the services' own: every step with a reagent used an accepted lot, unexpired that
day, whose stock went down by what the steps took."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bench.recall import run
from bench.run import Sizes, run_benchmarks, table
from bench.seed import seed
from lims.domain.processing import protocol_for
from lims.extensions import db
from lims.models import LedgerEntry, MaterialUse, ReagentLot, Unit
from lims.services.custody import ledger


def test_the_recall_benchmark_runs(database_url, app):
    seed(60, days=60)
    db.session.remove()
    results = run(database_url, repeat=2, lots=3)  # its own app, same database
    busiest = results["busiest_lot"]
    assert results["lots_used"] > 0 and busiest["total"] >= busiest["direct"] > 0
    assert busiest["rows"] == min(busiest["total"], 50)
    assert results["busiest_whole_list"]["units"] == busiest["total"]
    assert results["random_lots"]["n"] >= 3
    if results["backend"] == "postgresql":
        assert results["plans"] and all("Execution Time" in p for p in results["plans"])


def test_seeded_steps_use_accepted_lots_and_take_their_stock(app):
    seed(120, days=60)

    assert ledger.verify().intact
    lots = db.session.scalars(select(ReagentLot)).all()
    assert lots and all(lot.accepted_at and lot.acceptance_entry_id for lot in lots)
    for lot in lots:
        taken = db.session.scalar(
            select(func.coalesce(func.sum(MaterialUse.quantity), 0)).where(
                MaterialUse.reagent_lot_id == lot.id
            )
        )
        assert round(lot.quantity_received - taken, 6) == lot.quantity_remaining
        first = db.session.scalar(
            select(func.min(MaterialUse.used_at)).where(MaterialUse.reagent_lot_id == lot.id)
        )
        assert first is None or first >= lot.accepted_at
    steps = db.session.scalars(select(LedgerEntry).where(LedgerEntry.action == "record_step"))
    for entry in steps:
        data = json.loads(entry.data)
        unit = db.session.get(Unit, entry.unit_id)
        step = protocol_for(unit.unit_type).step(data["step"])
        uses = db.session.scalars(
            select(MaterialUse).where(MaterialUse.ledger_entry_id == entry.id)
        ).all()
        if step.reagent:
            (lot_use,) = [u for u in uses if u.reagent_lot_id]
            lot = db.session.get(ReagentLot, lot_use.reagent_lot_id)
            assert data["lot"] == lot.code and lot.reagent == step.reagent
            assert lot.expires_on >= lot_use.used_at.date()
        assert bool([u for u in uses if u.equipment_id]) == bool(step.equipment)


def test_make_bench_measures_the_recall_too(app):
    seed(60, days=30)
    results = run_benchmarks(Sizes(lookups=2, registrations=2, actions=2, list_queries=1, recall=2))
    assert results["recall"]["busiest_lot"]["total"] > 0
    assert "recall: busiest lot" in table(results)
