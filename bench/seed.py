"""Fill a database with patients and units at scale, on a valid custody ledger.

    python -m bench.seed --units 100000 [--database-url URL] [--days 730] [--if-empty]

Registering 100 000 units through the services would take an hour; this plans the
collections (``bench.stories``), plays each through the lifecycle rules in memory
(``bench.simulate``) and writes rows in batches with the hash chain computed in order
(``bench.chain``). Processing works on the bench's register (``bench.materials``): its
equipment registered through the services before the history starts, and a new lot of each
reagent every month, received and accepted by QA inside the history. Afterwards ``flask --app wsgi ledger verify`` (with ``DATABASE_URL``
set to the same database) reports the chain intact. Run it on a database nobody else
is writing to: it hands out ids itself.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from tqdm import tqdm

from lims.db import is_postgres, transaction
from lims.domain import identifiers
from lims.extensions import db
from lims.models import IdentifierSequence, LedgerEntry, Patient, ReagentLot, Site, Unit, User
from lims.models.types import utcnow
from lims.services.admin import accounts

from . import backend_of, database_url, make_app, materials, safe_url
from .chain import ChainWriter, next_id
from .simulate import Actor, Event, Simulator
from .stories import PatientPlan, Plan, plan

BENCH_USERS = (
    ("bench-doctor1", "clinician", "Dr. Hana Becker"),
    ("bench-doctor2", "clinician", "Dr. Luis Ortega"),
    ("bench-tech1", "technician", "Tom Lindqvist"),
    ("bench-tech2", "technician", "Priya Nair"),
    ("bench-tech3", "technician", "Sam Okoye"),
    ("bench-qa1", "qa", "Ingrid Holm"),  # accepts the reagent lots
)
MAX_SEQUENCE = 999_999  # six digits per facility and year (docs/product.md §2)


@dataclass(frozen=True)
class SeedResult:
    units: int
    patients: int
    entries: int
    seconds: float
    lots: int = 0
    uses: int = 0


def bench_actors() -> list[Actor]:
    """The seeded lab's staff, created once; their passwords are random and never shown."""
    actors = []
    for username, role, full_name in BENCH_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            password = secrets.token_urlsafe(18)
            user = accounts.create_user(username, role, password, full_name=full_name)
        actors.append(Actor(user.id, user.full_name, user.role))
    return actors


def reserve(scope: str, year: int, count: int) -> int:
    """Take ``count`` consecutive numbers of an identifier sequence; return the first.

    The same row ``sequences.next_value`` advances, so later registrations never collide.
    """
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    db.session.execute(
        dialect_insert(IdentifierSequence)
        .values(scope=scope, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    last = db.session.execute(
        update(IdentifierSequence)
        .where(IdentifierSequence.scope == scope, IdentifierSequence.year == year)
        .values(last_value=IdentifierSequence.last_value + count)
        .returning(IdentifierSequence.last_value)
    ).scalar_one()
    if last > MAX_SEQUENCE:
        raise RuntimeError(
            f"{scope} {year} would need sequence {last}, past {MAX_SEQUENCE}: "
            "spread the units over more days (--days)"
        )
    return last - count + 1


def assign_identifiers(lab: Plan) -> None:
    """Reserve every DIN and wristband number the plan needs, in one transaction."""
    facility = current_app.config["FACILITY_CODE"]
    with transaction():
        first_patient_id = (db.session.scalar(select(func.max(Patient.id))) or 0) + 1
        number = reserve(f"P{facility}", 0, len(lab.patients))
        for offset, patient in enumerate(lab.patients):
            patient.id = first_patient_id + offset
            patient.wristband = identifiers.make_wristband(facility, number + offset)
            patient.mrn = f"BN{number + offset:07d}"
        numbers = {
            year: reserve(facility, year, count)
            for year, count in sorted(lab.collections_per_year().items())
        }
        for collection in lab.collections:
            year = collection.collected_at.year
            collection.din = identifiers.make_din(facility, year, numbers[year])
            numbers[year] += 1
        # one course per patient, numbered at its first collection's year (decision 104)
        first: dict[int, tuple[PatientPlan, int]] = {}
        for collection in sorted(lab.collections, key=lambda c: c.collected_at):
            first.setdefault(
                id(collection.patient), (collection.patient, collection.collected_at.year)
            )
        per_year: dict[int, list[PatientPlan]] = {}
        for patient, year in first.values():
            per_year.setdefault(year, []).append(patient)
        for year, patients in sorted(per_year.items()):
            number = reserve(f"{identifiers.COI_PREFIX}{facility}", year, len(patients))
            for offset, patient in enumerate(patients):
                patient.course_code = identifiers.make_chain_of_identity(
                    facility, year, number + offset
                )


def events_in_time_order(
    lab: Plan, simulator: Simulator, known: Iterable[Event] = ()
) -> Iterator[Event]:
    """Every collection's events and the ``known`` ones (the lots' receipts and acceptances),
    merged so that the ledger runs forward in time.

    Collections are planned in order of collection; an event is released once no later
    collection can produce an earlier one.
    """
    pending: list[tuple] = []
    counter = itertools.count()
    for event in known:
        heapq.heappush(pending, (event.at, next(counter), event))
    collections = lab.collections
    for index, collection in enumerate(collections):
        for event in simulator.events(collection):
            heapq.heappush(pending, (event.at, next(counter), event))
        horizon = collections[index + 1].collected_at if index + 1 < len(collections) else None
        while pending and (horizon is None or pending[0][0] < horizon):
            yield heapq.heappop(pending)[2]


def seed(
    units: int,
    *,
    days: int = 730,
    batch_size: int = 5000,
    rng_seed: int = 2026,
    progress: bool = False,
) -> SeedResult:
    """Seed ``units`` units collected over the last ``days`` days, into the current app's db."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    actors = bench_actors()
    end = utcnow() - timedelta(days=3)  # every story has ended before now
    start = end - timedelta(days=days)
    lab = plan(units, start=start, end=end, rng=rng)
    assign_identifiers(lab)
    technicians = [a for a in actors if a.role == "technician"]
    qa = next(a for a in actors if a.role == "qa")
    entries_before = ledger_count()
    register = materials.Register(
        materials.stock_equipment(
            db.session.get(User, qa.id), db.session.get(User, technicians[0].id), start, end
        )
    )
    equipment_entries = ledger_count() - entries_before  # through the services
    register.lots = plan_lots(lab, start, end, technicians, qa, rng)
    simulator = Simulator(
        [a for a in actors if a.role == "clinician"],
        technicians,
        rng,
        next_id=(db.session.scalar(select(func.max(Unit.id))) or 0) + 1,
        register=register,
        site_id=db.session.scalar(select(func.min(Site.id))),
    )
    db.session.commit()  # end the read transaction before the writer's own
    bar = tqdm(total=units, unit="unit", disable=not progress, smoothing=0.1)

    def advance(unit_count: int, entry_count: int) -> None:
        bar.update(unit_count)
        bar.set_postfix_str(f"ledger entries {writer.written['entries']}", refresh=False)

    writer = ChainWriter(batch_size, on_flush=advance, site_id=simulator.site_id)
    lot_events = (e for p in register.all_lots() for e in materials.lot_events(p))
    for event in events_in_time_order(lab, simulator, lot_events):
        writer.add(event)
    writer.finish()
    with transaction():
        materials.write_stock(register, materials.reagents.today())
    bar.close()
    if is_postgres():
        with transaction():
            db.session.execute(text("ANALYZE"))  # what autovacuum would soon do
    written = writer.written
    return SeedResult(
        written["units"],
        written["patients"],
        written["entries"] + equipment_entries,
        time.perf_counter() - started,
        written["lots"],
        written["uses"],
    )


def plan_lots(
    lab: Plan, start, end, technicians: list[Actor], qa: Actor, rng: random.Random
) -> dict[str, list[materials.LotPlan]]:
    """The history's reagent lots, with register numbers reserved (``R`` + facility)."""
    facility = current_app.config["FACILITY_CODE"]
    with transaction():
        first_number = reserve(f"R{facility}", 0, materials.lot_count(start, end))
    return materials.plan_lots(
        start,
        end,
        lab.collections,
        technicians,
        qa,
        first_id=next_id(ReagentLot),
        first_number=first_number,
        rng=rng,
    )


def ledger_count() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def unit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Unit)) or 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--units", type=int, default=100_000, help="units to add (100000)")
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL or a temp SQLite file")
    parser.add_argument("--days", type=int, default=730, help="spread collections over (730)")
    parser.add_argument("--batch-size", type=int, default=5000, help="ledger rows per batch")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing if units exist")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    url = database_url(args.database_url)
    app = make_app(url)
    with app.app_context():
        upgrade()
        existing = unit_count()
        if args.if_empty and existing:
            print(f"{safe_url(url)} already holds {existing} units; not seeding")
            return
        print(f"seeding {args.units} units into {safe_url(url)} ({backend_of(url)})")
        result = seed(
            args.units,
            days=args.days,
            batch_size=args.batch_size,
            rng_seed=args.seed,
            progress=True,
        )
        db.engine.dispose()
    print(
        f"seeded {result.units} units, {result.patients} patients, {result.entries} ledger "
        f"entries, {result.lots} reagent lots and {result.uses} uses of equipment and lots "
        f"in {result.seconds:.1f} s"
    )
    print(f"check the chain: DATABASE_URL='{safe_url(url)}' flask --app wsgi ledger verify")


if __name__ == "__main__":
    main()
