"""Write simulated events in batches: patients, units, ledger entries chained in order, then
the reagent lots accepted and the uses of equipment and lots that cite those entries.

The ledger rule holds in bulk too: rows are only inserted; every entry's hash is
``entry_hash`` over its content and the previous entry's hash, computed in ``seq`` order;
and each batch, under the ledger lock, first checks that the head is still the entry this
writer wrote last — if anyone else appended meanwhile, the seed stops instead of forking
the chain. Ids are handed out here (the database is assumed quiet while seeding), so on
PostgreSQL the id sequences are moved past them in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text

from lims.db import is_postgres, lock, transaction
from lims.domain.ledger_chain import GENESIS, entry_hash
from lims.domain.roles import Role
from lims.extensions import db
from lims.models import LedgerEntry, MaterialUse, Patient, ReagentLot, Unit

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
    def __init__(self, batch_size: int, on_flush: Callable[[int, int], None] | None = None):
        self.key = current_app.config["LEDGER_KEY"].encode()
        self.batch_size = batch_size
        self.on_flush = on_flush
        self.seq, self.prev = self.committed = ledger_head()
        self.next_entry_id = next_id(LedgerEntry)
        self.patients: list[dict[str, Any]] = []
        self.units: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.lots: list[dict[str, Any]] = []
        self.uses: list[dict[str, Any]] = []
        self.written = {"patients": 0, "units": 0, "entries": 0, "lots": 0, "uses": 0}

    def add(self, event: Event) -> None:
        if event.patient is not None and not event.patient.written:
            self.patients.append(_patient_row(event.patient, event))
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
        if not self.entries and not self.units and not self.uses:
            return
        with transaction():
            lock("lims.ledger")
            if ledger_head() != self.committed:
                raise ChainMoved(
                    "the ledger grew while seeding (someone else is writing): stopped, "
                    "nothing of this batch was written"
                )
            for model, rows in ((Patient, self.patients), (Unit, self.units)):
                if rows:
                    db.session.execute(insert(model.__table__), rows)
            if self.entries:
                db.session.execute(insert(LedgerEntry.__table__), self.entries)
            for model, rows in ((ReagentLot, self.lots), (MaterialUse, self.uses)):
                if rows:
                    columns = {c.name for c in model.__table__.columns}
                    clean = [{k: v for k, v in r.items() if k in columns} for r in rows]
                    db.session.execute(insert(model.__table__), clean)
            if is_postgres():
                for table in SERIAL_TABLES:
                    db.session.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
        self.committed = (self.seq, self.prev)
        units, entries = len(self.units), len(self.entries)
        self.written["patients"] += len(self.patients)
        self.written["units"] += units
        self.written["entries"] += entries
        self.written["lots"] += len(self.lots)
        self.written["uses"] += len(self.uses)
        self.patients, self.units, self.entries = [], [], []
        self.lots, self.uses = [], []
        if self.on_flush:
            self.on_flush(units, entries)
