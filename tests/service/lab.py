"""Helpers for service tests: the data each action records, how a fresh collection reaches
each status, a fresh look at a unit as stored, and tampering as the database owner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text

from lims.domain.codes import make_equipment_code, make_location_code, make_reagent_lot_code
from lims.domain.materials import EQUIPMENT_KINDS, reagent_names
from lims.domain.processing import batch_record, protocol_for
from lims.extensions import db
from lims.models import Equipment, LedgerEntry, ReagentLot, Unit, User
from lims.services.custody import ledger

KINDS = ("ADIPOSE", "MARROW", "BLOOD")
# The first location a test creates (facility T0001, location sequence 1): see ``shelf``.
SHELF = make_location_code("T0001", 1)
PRODUCT_OF = {
    "ADIPOSE": "SVF",
    "MARROW": "BM-MNC",
    "BLOOD": "PRP",
    "SVF": "MSC(AT)",
    "BM-MNC": "MSC(M)",
}
RECEIPT_C = {"ADIPOSE": 4.0, "MARROW": 20.0, "BLOOD": 21.0}
SITE = {"ADIPOSE": "abdomen", "MARROW": "posterior iliac crest", "BLOOD": "antecubital vein"}


def registration(kind: str = "ADIPOSE", *, hours_ago: float = 1, **overrides: Any) -> dict:
    data = {
        "patient": {"mrn": "MRN-1", "name": "Pat Example", "birth_date": "1980-05-17"},
        "type": kind,
        "collection_site": SITE[kind],
        "volume_ml": 50,
        "collected_at": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
    }
    return {**data, **overrides}


# The test bench: one usable item of each kind of equipment and one accepted lot of each
# reagent, with fixed codes (sequence 900000 on, far from what a test's own registrations take),
# so test data can name them before the rows exist. ``stock_the_bench`` writes the rows; the
# ``users`` fixture calls it.
BENCH_EQUIPMENT = {
    kind: make_equipment_code("T0001", 900_000 + i) for i, kind in enumerate(EQUIPMENT_KINDS)
}
BENCH_LOTS = {
    reagent: make_reagent_lot_code("T0001", 900_000 + i)
    for i, reagent in enumerate(reagent_names())
}
CABINET = BENCH_EQUIPMENT["biosafety_cabinet"]


def stock_the_bench(by: User) -> None:
    """The bench's items and lots, as rows (no ledger entries: a test fixture, not history)."""
    today = datetime.now(UTC).date()
    for kind, code in BENCH_EQUIPMENT.items():
        db.session.add(
            Equipment(
                code=code,
                name=f"Bench {EQUIPMENT_KINDS[kind].lower()}",
                kind=kind,
                status="in_service",
                calibration_interval_days=365,
                calibration_valid_until=today + timedelta(days=365),
                maintenance_interval_days=90,
                maintenance_due_on=today + timedelta(days=90),
                created_by_id=by.id,
            )
        )
    now = datetime.now(UTC)
    for reagent, code in BENCH_LOTS.items():
        db.session.add(
            ReagentLot(
                code=code,
                reagent=reagent,
                product_name=f"Bench {reagent}",
                manufacturer="Bench Supplies",
                lot_number=f"B-{code[-7:]}",
                expires_on=today + timedelta(days=365),
                storage="2–8 °C",
                quantity_received=100_000.0,
                quantity_remaining=100_000.0,
                quantity_unit="mL",
                coa_ref=f"CoA-{code[-7:]}",
                received_by_id=by.id,
                received_at=now,
                accepted_by_id=by.id,
                accepted_at=now,
            )
        )
    db.session.commit()


def steps_for(kind: str, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every step of the protocol that processes ``kind``, done in the last two hours
    (10 minutes a step, from two hours ago), on the bench's equipment and lots."""
    start = datetime.now(UTC) - timedelta(hours=2)
    count = len(protocol_for(kind).steps)
    end = start + timedelta(minutes=10 * count)
    return batch_record(
        kind, start, end, equipment=BENCH_EQUIPMENT, lots=BENCH_LOTS, quantity=2.0, skip=skip
    )


def storage_c(kind: str) -> float:
    """A temperature inside the storage range of ``kind``."""
    from lims.domain.catalogue import unit_type

    storage = unit_type(kind).storage
    if storage.low_c is None:
        return storage.high_c - 30
    if storage.high_c is None:
        return storage.low_c + 1
    return (storage.low_c + storage.high_c) / 2


def data_for(action: str, kind: str = "ADIPOSE", unit: Any = None) -> dict[str, Any]:
    """Valid data for ``action`` on a unit of ``kind`` (what a careful user enters).

    ``unit`` is needed where the data names something of it (the patient's wristband).
    """
    step_kind = kind if kind in ("ADIPOSE", "MARROW", "BLOOD", "SVF", "BM-MNC") else "ADIPOSE"
    return {
        "dispatch": {"courier": "Courier A", "transport_condition": "cool box"},
        "receive": {
            "temperature_c": RECEIPT_C.get(kind, 4.0),
            "container_intact": True,
            "label_matches": True,
            "volume_ml": 50,
        },
        "start_processing": {"protocol": "standard", "equipment": CABINET},
        "complete_processing": {
            "products": [{"type": PRODUCT_OF[step_kind], "volume_ml": 10, "cell_count": 1_000_000}],
            "steps": steps_for(step_kind),
        },
        "record_step": steps_for(step_kind)[0],
        "record_qc": qc_data("sterility"),
        "release": sign(),
        "exceptional_release": {
            **sign("approved exceptional release"),
            "justification": "patient already prepared; physician accepts the risk",
            "physician": "doctor",
            "physician_password": PASSWORD,
        },
        "split": {"aliquots": [{"volume_ml": 1}]},
        "store": {"location": SHELF, "storage_temperature_c": storage_c(kind)},
        "thaw": {},
        "dispense": {"clinician": "doctor"},
        "administer": {
            "wristband": unit.patient.wristband if unit is not None else "P-none",
            "site": "vertex",
            "method": "micro-injection",
            "volume_ml": 1,
        },
        "return": {"condition": "unopened, kept cold"},
        "reject": {"reason": "sample unusable", **sign("rejected")},
        "move": {"location": SHELF},
        "discard": {"reason": "no longer needed"},
        "expire": {},
    }[action]


# How a fresh collection reaches each status (each step as a technician).
PATH_TO = {
    "collected": [],
    "in_transit": ["dispatch"],
    "received": ["receive"],
    "in_processing": ["receive", "start_processing"],
    "processed": ["receive", "start_processing", "complete_processing"],
    "quarantine": ["receive", "start_processing", "complete_processing"],  # its product
    "rejected": ["reject"],
    "discarded": ["discard"],
}
# From quarantine on, the product is walked on (``walk``), with these steps and roles.
AFTER_QUARANTINE = {
    "released": [("qc", "technician"), ("release", "qa")],
    "dispensed": [("qc", "technician"), ("release", "qa"), ("dispense", "technician")],
    "returned": [
        ("qc", "technician"),
        ("release", "qa"),
        ("dispense", "technician"),
        ("return", "clinician"),
    ],
    "administered": [
        ("qc", "technician"),
        ("release", "qa"),
        ("dispense", "technician"),
        ("administer", "clinician"),
    ],
}
REACHABLE = (*PATH_TO, *AFTER_QUARANTINE)
PASSWORD = "test-pass-1234"


def walk(unit: Any, status: str, users: dict) -> Any:
    """Take a fresh collection's source unit to ``status`` through the services.

    Returns the unit now in that status: the source up to ``processed``, its product from
    ``quarantine`` on.
    """
    from lims.services.actions import units

    kind = unit.unit_type
    path = PATH_TO["quarantine"] if status in AFTER_QUARANTINE else PATH_TO[status]
    result = None
    for step in path:
        result = units.perform_action(unit.id, step, data_for(step, kind), users["technician"])
    if status not in AFTER_QUARANTINE and status != "quarantine":
        return unit
    product = result.products[0]
    for step, role in AFTER_QUARANTINE.get(status, []):
        if step == "qc":
            pass_all_qc(product, users["technician"])
            continue
        data = data_for(step, product.unit_type, product)
        units.perform_action(product.id, step, data, users[role])
    return product


def pass_all_qc(product: Any, technician: Any) -> None:
    from lims.services.actions import units

    for test in required_tests(product.unit_type):
        units.perform_action(product.id, "record_qc", qc_data(test), technician)


def stored(unit_id: int) -> dict[str, Any]:
    """The unit as the database has it now (not as the session remembers it)."""
    db.session.rollback()
    row = db.session.execute(
        select(Unit.status, Unit.version, Unit.custodian_id, Unit.location_id).where(
            Unit.id == unit_id
        )
    ).one()
    return {**row._asdict(), "ledger_entries": ledger.count()}


def entries_of(unit_id: int) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.unit_id == unit_id).order_by(LedgerEntry.seq)
        )
    )


def _sqlite_triggers() -> list[tuple[str, str]]:
    return [
        (name, sql)
        for name, sql in db.session.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('ledger_entries', 'ledger_receipts', 'material_uses', "
                "'release_certificates')"
            )
        )
    ]


@contextmanager
def triggers_off() -> Iterator[Any]:
    """Tamper as the database owner could: the ledger triggers are out of the way for one
    transaction, then back (PostgreSQL: replica role; SQLite: drop and recreate them)."""
    session = db.session
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
        yield session
    else:
        triggers = _sqlite_triggers()
        # append-only ×8 (entries, receipts, the uses and certificates that cite entries),
        # receipts move forward
        assert len(triggers) == 9, triggers
        for name, _ in triggers:
            session.execute(text(f"DROP TRIGGER {name}"))
        yield session
        for _, sql in triggers:
            session.execute(text(sql))
    session.commit()


# ---------------------------------------------------------------------------- QC and release

PASSING = {
    "viable_cell_count": 2_500_000,
    "viability": 85.0,
    "gram_stain": "no organisms seen",
    "sterility": "no growth",
    "endotoxin": 0.1,
    "mycoplasma": "negative",
    "platelet_count": 1200,
    **{marker: 98.5 for marker in ("cd73", "cd90", "cd105")},
    **{marker: 0.4 for marker in ("cd45", "cd34", "cd14", "cd19", "hla_dr")},
}


def qc_data(test: str, value: Any = None, **overrides: Any) -> dict[str, Any]:
    data = {
        "test": test,
        "value": PASSING[test] if value is None else value,
        "method": "validated method",
        "lot": "QC-LOT-1",
    }
    return {**data, **overrides}


def required_tests(product_type: str) -> list[str]:
    from lims.services.actions.qc import specs_in_force

    return [s.test for s in specs_in_force(product_type) if s.required]


def sign(meaning: str = "approved for release", password: str = PASSWORD) -> dict:
    return {"password": password, "meaning": meaning}


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the enclosed code sends, as a list filled while it runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def idle_in_transaction() -> int:
    """PostgreSQL: this database's connections sitting idle inside a transaction (a lock or a
    snapshot held while nothing runs)."""
    with db.engine.connect() as conn:
        return conn.scalar(
            text(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and state like 'idle in transaction%'"
            )
        )
