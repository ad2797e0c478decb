"""Ledger search and the chain-of-custody report on a big ledger.

    python -m bench.ledger_search [--database-url URL] [--repeat 30] [--moves 60]

Seed first (``python -m bench.seed --units 195000`` gives about 1 000 000 entries over two
years). This then makes one unit with a long history through the services (registered,
processed step by step, every QC test, released with QA's signature, stored and moved
``--moves`` times), once per database, and measures through ``services.audit`` and
``services.custody_report`` (each call in a fresh session, as a request has): the first
page of each filter, a deep page (a cursor half-way down the ledger), patient, date
range, combined filters, and the report as screen rows, CSV and PDF. On PostgreSQL it
prints each query's plan (``EXPLAIN ANALYZE``) too. Prints a table and writes
``bench/results/ledger_search-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select

from lims.domain.processing import batch_record, protocol_for
from lims.extensions import db
from lims.models import LedgerEntry, Patient, Unit, User
from lims.services.actions import qc, units
from lims.services.admin import accounts, locations
from lims.services.audit import custody_pdf, custody_report
from lims.services.audit import ledger_search as audit

from . import backend_of, database_url, make_app, materials, safe_url

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LONG_PATIENT = "Bench Long-History"
UTCZ = ZoneInfo("UTC")
PASSING = {
    "viable_cell_count": 2_500_000,
    "viability": 85.0,
    "gram_stain": "no organisms seen",
    "sterility": "no growth",
    "endotoxin": 0.1,
}


def _user(role: str, password: str) -> User:
    name = f"bench-audit-{role}-{secrets.token_hex(3)}"
    return accounts.create_user(name, role, password, full_name=f"Bench {role.title()}")


def long_history_unit(moves: int) -> Unit:
    """An SVF product with a long story, made once per database through the services."""
    found = db.session.scalar(
        select(Unit)
        .join(Patient, Patient.id == Unit.patient_id)
        .where(Patient.name == LONG_PATIENT, Unit.parent_id.is_(None))
        .order_by(Unit.id.desc())
        .limit(1)
    )
    if found is not None:
        return found.children[0]
    password = secrets.token_urlsafe(16)
    doctor, tech, qa_user = (_user(r, password) for r in ("clinician", "technician", "qa"))
    admin = _user("admin", password)
    now = datetime.now(UTC)
    source = units.register(
        {
            "patient": {
                "mrn": f"BA{secrets.token_hex(4)}",
                "name": LONG_PATIENT,
                "birth_date": "1975-03-02",
            },
            "type": "ADIPOSE",
            "collection_site": "abdomen",
            "volume_ml": 250,
            "collected_at": (now - timedelta(hours=2)).isoformat(),
        },
        doctor,
    ).unit
    register = materials.usable_now(tech, qa_user, password)
    receipt = {"temperature_c": 4.0, "container_intact": True, "label_matches": True}
    units.perform_action(source.id, "receive", {**receipt, "volume_ml": 250}, tech)
    cabinet = register.equipment[materials.CABINET]
    units.perform_action(
        source.id, "start_processing", {"protocol": "standard", "equipment": cabinet}, tech
    )
    count = len(protocol_for("ADIPOSE").steps)
    start = now - timedelta(minutes=90)
    steps = batch_record(
        "ADIPOSE",
        start,
        start + timedelta(minutes=8 * count),
        equipment=register.equipment,
        lots=register.lots,
        quantity=register.quantity,
    )
    done = units.perform_action(
        source.id,
        "complete_processing",
        {"products": [{"type": "SVF", "volume_ml": 10, "cell_count": 30_000_000}], "steps": steps},
        tech,
    )
    product = done.products[0]
    for spec in qc.specs_in_force("SVF"):
        if spec.required:
            value = PASSING[spec.test]
            data = {"test": spec.test, "value": value, "method": "validated", "lot": "QC-1"}
            units.perform_action(product.id, "record_qc", data, tech)
    sign = {"password": password, "meaning": "approved for release"}
    units.perform_action(product.id, "release", sign, qa_user)
    shelves = [
        locations.create_location(f"Bench fridge {n}", "freezer", None, admin) for n in (1, 2)
    ]
    units.perform_action(
        product.id, "store", {"location": shelves[0].code, "storage_temperature_c": 5.0}, tech
    )
    for n in range(moves):
        units.perform_action(product.id, "move", {"location": shelves[(n + 1) % 2].code}, tech)
    return product


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        db.session.remove()
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    db.session.remove()
    return times, result


class Plans:
    """The last ledger query each search ran (statement and parameters), for EXPLAIN."""

    def __init__(self) -> None:
        self.last: tuple[str, Any] | None = None

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "ORDER BY ledger_entries.seq DESC" in statement:
            self.last = (statement, parameters)

    def explain(self) -> list[str]:
        if self.last is None:
            return []
        statement, parameters = self.last
        raw = db.session.connection().connection.dbapi_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters)
            lines = [row[0] for row in cur.fetchall()]
        db.session.rollback()
        return lines


def cases(long_unit: Unit) -> dict[str, dict[str, str]]:
    """Each search measured: its filters (the cursor of a deep page is added later)."""
    din = long_unit.din + long_unit.check_character
    patient = db.session.scalar(
        select(Patient.mrn)
        .join(Unit, Unit.patient_id == Patient.id)
        .group_by(Patient.mrn)
        .order_by(func.count(Unit.id).desc())
        .limit(1)
    )
    tech = db.session.scalar(select(User.username).where(User.username == "bench-tech1"))
    newest = db.session.scalar(select(func.max(LedgerEntry.recorded_at)))
    year_ago = (newest - timedelta(days=365)).date()
    week = {"since": year_ago.isoformat(), "until": (year_ago + timedelta(days=6)).isoformat()}
    return {
        "no filter": {},
        "unit (a collection by DIN)": {"unit": din},
        "unit (one unit, long history)": {"unit": str(long_unit.id)},
        "patient (most units)": {"patient": patient},
        "user (a technician)": {"user": tech or "bench-tech1"},
        "action record_step (common)": {"action": "record_step"},
        "action reject (rare)": {"action": "reject"},
        "status rejected": {"status": "rejected"},
        "date range (one week, a year ago)": week,
        "user + action discard": {"user": tech or "bench-tech1", "action": "discard"},
        "action receive + one week": {"action": "receive", **week},
    }


def deep_cursor(filters: dict[str, str], depth: int = 1000) -> str | None:
    """The cursor of page 21 (50 a page): where the 1 000th match ends."""
    cursor = ""
    for _ in range(depth // 200):
        page = audit.search(audit.Criteria(**filters, cursor=cursor, limit=200), UTCZ)
        if page.next_cursor is None:
            return None
        cursor = str(page.next_cursor)
    db.session.remove()
    return cursor


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, repeat: int = 30, moves: int = 60) -> dict[str, Any]:
    app = make_app(url)
    results: dict[str, Any] = {"database": safe_url(url), "backend": backend_of(url)}
    with app.app_context():
        plans = Plans()
        event.listen(db.engine, "before_cursor_execute", plans)
        long_unit = long_history_unit(moves)
        long_id = long_unit.id
        results["source_entries"] = db.session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.unit_id == long_unit.parent_id)
        )
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        results["entries"] = entries
        searches = cases(long_unit)
        db.session.remove()
        rows: dict[str, Any] = {}
        postgres = backend_of(url) == "postgresql"
        for name, filters in searches.items():
            for depth, cursor in (("first page", ""), ("page 21", deep_cursor(filters))):
                if cursor is None:
                    continue  # fewer than 1 000 entries match: there is no page 21
                criteria = audit.Criteria(**filters, cursor=cursor, limit=50)
                times, page = timed(lambda c=criteria: audit.search(c, UTCZ), repeat)
                label = f"{name}, {depth}"
                rows[label] = {
                    "n": repeat,
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(percentile(times, 0.95), 2),
                    "rows": len(page.entries),
                    "plan": plans.explain() if postgres else [],
                }
        report_n = max(5, repeat // 3)
        report_calls = {
            "report: screen rows (build)": lambda: custody_report.build(
                long_id, db.session.get(User, 1)
            ),
            "report: CSV": lambda: custody_report.report_csv(
                custody_report.build(long_id, db.session.get(User, 1))
            ),
            "report: PDF": lambda: custody_pdf.render_pdf(
                custody_report.build(long_id, db.session.get(User, 1))
            ),
        }
        for label, call in report_calls.items():
            times, out = timed(call, report_n)
            size = len(out.entries) if hasattr(out, "entries") else len(out)
            rows[label] = {
                "n": report_n,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(percentile(times, 0.95), 2),
                "rows": size,
                "plan": [],
            }
        event.remove(db.engine, "before_cursor_execute", plans)
        results["measures"] = rows
        db.session.remove()
        db.engine.dispose()
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"{results['backend']}: {results['entries']} ledger entries ({results['database']})")
    print(f"{'measure':58} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'rows/bytes':>10}")
    for label, row in results["measures"].items():
        print(f"{label:58} {row['n']:>4} {row['p50_ms']:>9} {row['p95_ms']:>9} {row['rows']:>10}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger_search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL or a temp SQLite file")
    parser.add_argument("--repeat", type=int, default=30, help="calls per search (30)")
    parser.add_argument("--moves", type=int, default=60, help="moves in the long history (60)")
    parser.add_argument("--plans", action="store_true", help="print each query's plan")
    args = parser.parse_args(argv)
    results = run(database_url(args.database_url), args.repeat, args.moves)
    print_table(results)
    if args.plans:
        for label, row in results["measures"].items():
            if row["plan"]:
                print(f"\n-- {label}")
                print("\n".join(row["plan"]))
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"ledger_search-{results['backend']}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
