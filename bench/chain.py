"""Write simulated events in batches: patients, units, ledger entries chained in order, then
the reagent lots accepted and the uses of equipment and lots that cite those entries.

The ledger rule holds in bulk too: rows are only inserted; every entry's hash is
``entry_hash`` over its content and the previous entry's hash, computed in ``seq`` order;
and each batch, under the ledger lock, first checks that the head is still the entry this
writer wrote last — if anyone else appended meanwhile, the seed stops instead of forking
the chain. Ids are handed out here (the database is assumed quiet while seeding), so on
PostgreSQL the id sequences are moved past them in the same transaction.

On PostgreSQL a batch goes in with ``COPY`` on a connection of the writer's own, in a thread,
while the simulator plans the next batch (one batch in flight at most): the database's work
and the simulator's overlap on two cores, which halves the time of a million-unit seed. Values
pass through each column's own bind processing first, as an INSERT would do them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from lims.db import is_postgres, lock, transaction
from lims.domain.ledger_chain import GENESIS, entry_hash
from lims.domain.roles import Role
from lims.extensions import db
from lims.models import LedgerEntry, MaterialUse, Patient, ReagentLot, TherapyCourse, Unit

from .simulate import Event
from .stories import PatientPlan

SERIAL_TABLES = ("patients", "units", "ledger_entries", "reagent_lots")


class ChainMoved(RuntimeError):
    """Someone appended to the ledger while the seed was writing."""


def ledger_head() -> tuple[int, str]:
    head = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return (head.seq, head.entry_hash) if head else (0, GENESIS)


def next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _patient_row(plan: PatientPlan, event: Event) -> dict[str, Any]:
    """As ``units._find_or_create_patient`` on the patient's first registration."""
    return {
        "id": plan.id,
        "mrn": plan.mrn,
        "name": plan.name,
        "birth_date": plan.birth_date,
        "wristband": plan.wristband,
        "clinician_id": event.actor.id if event.actor.role == Role.CLINICIAN else None,
        "diagnosis": plan.diagnosis,
        "stage": plan.stage,
        "created_at": event.at,
    }


class ChainWriter:
    def __init__(
        self,
        batch_size: int,
        on_flush: Callable[[int, int], None] | None = None,
        site_id: int | None = None,
    ):
        self.site_id = site_id  # where the bench's courses are started
        self.key = current_app.config["LEDGER_KEY"].encode()
        self.batch_size = batch_size
        self.on_flush = on_flush
        self.seq, self.prev = self.committed = ledger_head()
        self.next_entry_id = next_id(LedgerEntry)
        self.patients: list[dict[str, Any]] = []
        self.courses: list[dict[str, Any]] = []
        self.units: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.lots: list[dict[str, Any]] = []
        self.uses: list[dict[str, Any]] = []
        self.written = {
            "patients": 0,
            "courses": 0,
            "units": 0,
            "entries": 0,
            "lots": 0,
            "uses": 0,
        }
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[Future[None], Batch] | None = None

    def add(self, event: Event) -> None:
        if event.patient is not None and not event.patient.written:
            self.patients.append(_patient_row(event.patient, event))
            if event.patient.course_code:
                self.courses.append(
                    {
                        "code": event.patient.course_code,
                        "patient_id": event.patient.id,
                        "site_id": self.site_id,
                        "started_at": event.at,
                        "started_by_id": event.actor.id,
                    }
                )
            event.patient.written = True
        self.units.extend(event.units)
        ids = []
        for content in event.entries:
            self.seq += 1
            entry = {**content, "id": self.next_entry_id, "seq": self.seq, "prev_hash": self.prev}
            entry["entry_hash"] = self.prev = entry_hash(self.key, entry)
            ids.append(self.next_entry_id)
            self.next_entry_id += 1
            self.entries.append(entry)
        for row in event.lots:
            self.lots.append({**row, "acceptance_entry_id": ids[row["_entry"]]})
        for row in event.uses:
            self.uses.append({**row, "ledger_entry_id": ids[row["_entry"]]})
        if len(self.entries) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write what is pending; on PostgreSQL in the background (``finish`` waits for it)."""
        if not self.entries and not self.units and not self.uses:
            return
        batch = Batch(self.patients, self.courses, self.units, self.entries, self.lots, self.uses)
        expected_head, self.committed = self.committed, (self.seq, self.prev)
        self.patients, self.courses, self.units, self.entries = [], [], [], []
        self.lots, self.uses = [], []
        if not is_postgres():
            with transaction():
                lock("lims.ledger")
                _check_head(db.session.connection(), expected_head)
                batch.insert(db.session.connection())
            self._written(batch)
            return
        self._wait()  # one batch in flight at most
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-writer")
        self._pending = (self._pool.submit(_copy_batch, db.engine, batch, expected_head), batch)

    def finish(self) -> None:
        """Flush the rest and wait until every batch is in the database."""
        self.flush()
        self._wait()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _wait(self) -> None:
        if self._pending is None:
            return
        future, batch = self._pending
        self._pending = None
        future.result()  # a batch that failed stops the seed here
        self._written(batch)

    def _written(self, batch: Batch) -> None:
        for name in self.written:
            self.written[name] += len(getattr(batch, name))
        if self.on_flush:
            self.on_flush(len(batch.units), len(batch.entries))


class Batch:
    """The rows of one transaction, in the order their foreign keys need."""

    def __init__(self, patients, courses, units, entries, lots, uses) -> None:
        self.patients, self.courses, self.units, self.entries = patients, courses, units, entries
        self.lots, self.uses = lots, uses

    def tables(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        return [
            (Patient.__table__, self.patients),
            (TherapyCourse.__table__, self.courses),
            (Unit.__table__, self.units),
            (LedgerEntry.__table__, self.entries),
            (ReagentLot.__table__, self.lots),
            (MaterialUse.__table__, self.uses),
        ]

    def insert(self, conn: Connection) -> None:
        for table, rows in self.tables():
            if rows:
                conn.execute(insert(table), _only_columns(table, rows))


def _only_columns(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = set(table.c.keys())
    if columns.issuperset(rows[0]):
        return rows
    return [{k: v for k, v in r.items() if k in columns} for r in rows]


def _check_head(conn: Connection, expected: tuple[int, str]) -> None:
    head = conn.execute(
        select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    if (tuple(head) if head else (0, GENESIS)) != expected:
        raise ChainMoved(
            "the ledger grew while seeding (someone else is writing): stopped, "
            "nothing of this batch was written"
        )


def _copy_batch(engine: Engine, batch: Batch, expected_head: tuple[int, str]) -> None:
    """One batch in one transaction on PostgreSQL: the ledger lock, the head check, COPY."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('lims.ledger'))"))
        _check_head(conn, expected_head)
        cursor = conn.connection.driver_connection.cursor()
        for table, rows in batch.tables():
            if rows:
                _copy(cursor, table, _only_columns(table, rows), conn.dialect)
        for name in SERIAL_TABLES:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            )


def _copy(cursor: Any, table: Table, rows: list[dict[str, Any]], dialect: Any) -> None:
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    columns = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    value if proc is None or value is None else proc(value)
                    for proc, value in zip(processors, map(row.get, names), strict=True)
                ]
            )
