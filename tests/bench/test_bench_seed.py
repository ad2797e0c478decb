"""The bench seed writes a ledger that verifies, and data the services carry on with."""

# No __init__.py in this directory on purpose: as package ``bench`` (rooted at tests/) it
# would shadow the top-level ``bench`` package under test.

from __future__ import annotations

import json

from sqlalchemy import func, select

from bench.run import Sizes, run_benchmarks
from bench.seed import BENCH_USERS, seed
from lims.domain.catalogue import unit_type
from lims.extensions import db
from lims.models import LedgerEntry, Unit, User
from lims.services.custody import ledger
from tests.service.lab import steps_for

ALL_STATUSES_SO_FAR = {
    "collected",
    "in_transit",
    "received",
    "in_processing",
    "processed",
    "quarantine",
    "rejected",
    "discarded",
}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seeded_ledger_verifies(app):
    result = seed(60, days=30)

    assert result.units == count(Unit) == 60
    verified = ledger.verify()
    assert verified.intact, verified.first_break
    assert verified.checked == result.entries == count(LedgerEntry)


def test_seeded_units_spread_over_the_statuses(app):
    seed(200, days=30)

    assert set(db.session.scalars(select(Unit.status).distinct())) == ALL_STATUSES_SO_FAR


def test_registering_after_seeding_takes_a_new_identifier(app, register):
    seed(30, days=30)
    seeded = set(db.session.scalars(select(Unit.din)))

    unit = register("ADIPOSE")

    assert unit.din not in seeded
    assert ledger.verify().intact


def test_seeding_twice_continues_the_chain(app):
    first = seed(20, days=30)
    second = seed(20, days=30, rng_seed=7)

    assert ledger.verify().checked == first.entries + second.entries


# ---------------------------------------------------------------------------- no drift


def _entry_shape(entry: LedgerEntry) -> tuple:
    """What must look the same whether the services or the seed wrote an entry."""
    return (
        entry.action,
        entry.actor_role,
        entry.from_status,
        entry.to_status,
        tuple(sorted(json.loads(entry.data))),
        entry.reason is None,
        entry.from_custodian_id is None,
        entry.to_custodian_id is None,
    )


def _unit_shape(unit: Unit) -> tuple:
    columns = tuple(c.key for c in Unit.__table__.columns if getattr(unit, c.key) is None)
    return unit.status, unit_type(unit.unit_type).kind, unit.version, columns


def _service_stories(register, act) -> None:
    made = register("ADIPOSE")
    act(made, "dispatch", as_="clinician")
    for action in ("receive", "start_processing"):
        act(made, action)
    for step in steps_for("ADIPOSE"):  # one by one at the bench, as the seed does
        act(made, "record_step", **step)
    act(made, "complete_processing", products=[{"type": "SVF", "volume_ml": 8, "cell_count": 9}])
    rejected = register("MARROW", as_="technician", mrn="MRN-2")
    act(rejected, "receive")
    act(rejected, "reject")
    discarded = register("BLOOD", mrn="MRN-3")
    act(discarded, "receive")
    act(discarded, "start_processing")
    act(discarded, "discard")


def test_seeded_rows_look_like_the_services_rows(app, users, register, act):
    _service_stories(register, act)
    seed(400, days=30)
    bench_ids = set(
        db.session.scalars(select(User.id).where(User.username.in_([u[0] for u in BENCH_USERS])))
    )
    entries = db.session.scalars(select(LedgerEntry)).all()
    by_service = {_entry_shape(e) for e in entries if e.actor_id not in bench_ids}
    by_seed = {_entry_shape(e) for e in entries if e.actor_id in bench_ids}
    assert by_service <= by_seed, by_service - by_seed

    all_units = db.session.scalars(select(Unit)).all()
    service_units = {_unit_shape(u) for u in all_units if u.collected_by_id not in bench_ids}
    seeded_units = {_unit_shape(u) for u in all_units if u.collected_by_id in bench_ids}
    assert service_units <= seeded_units, service_units - seeded_units


def test_benchmarks_run_on_a_small_seed(app):
    seed(40, days=30)

    results = run_benchmarks(
        Sizes(lookups=5, registrations=3, actions=3, list_queries=2, verify_rounds=2)
    )

    assert results["scan_lookup"]["n"] == 5
    assert results["registration"]["n"] == 3
    assert results["action"]["start_processing"]["n"] == 3
    assert results["ledger_verify"]["intact"]
    assert len(results["ledger_verify"]["ratios_by_round"]) == 2
    assert results["units_list"]["(any)"]["matching"] == count(Unit) == 43
