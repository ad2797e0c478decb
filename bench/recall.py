"""The recall look-up on a big lab: every unit and patient a reagent lot touched.

    python -m bench.recall [--database-url URL] [--repeat 20] [--lots 30]

Seed first (``python -m bench.seed --units 100000``: a lot of each reagent every month, each
processing step using one). Measures ``services.materials.reagents.recall`` as the lot page
and ``GET /api/v1/reagent-lots/<id>/units`` call it (each call in a fresh session, as a
request has): the first page of 50 units with the totals (units, units used on directly,
patients), for the lot that touched the most units and for ``--lots`` others picked at
random among those used; and the whole list as the CSV export reads it, for the busiest
lot. On PostgreSQL it prints the plans (``EXPLAIN ANALYZE``) of the page's two main queries.
Prints a table and writes ``bench/results/recall-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from lims.extensions import db
from lims.models import MaterialUse, ReagentLot, User
from lims.services.materials import reagents

from . import backend_of, database_url, make_app, safe_url

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PER_PAGE = 50


def summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(repeat):
        db.session.remove()
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    db.session.remove()
    return samples, result


def viewer() -> User:
    """Who looks a lot up: QA (the bench's), else any QA user."""
    user = db.session.scalar(select(User).where(User.username == "bench-qa1"))
    user = user or db.session.scalar(select(User).where(User.role == "qa").order_by(User.id))
    if user is None:
        raise SystemExit("no QA user: seed the database with bench.seed")
    return user


def used_lots() -> list[tuple[int, int]]:
    """(lot id, uses) of every lot used at least once, busiest first."""
    rows = db.session.execute(
        select(MaterialUse.reagent_lot_id, func.count())
        .where(MaterialUse.reagent_lot_id.is_not(None))
        .group_by(MaterialUse.reagent_lot_id)
        .order_by(func.count().desc(), MaterialUse.reagent_lot_id)
    ).all()
    return [(lot_id, uses) for lot_id, uses in rows]


def page(lot_id: int, user_id: int) -> dict[str, Any]:
    found = reagents.recall(lot_id, db.session.get(User, user_id), page=1, per_page=PER_PAGE)
    for row in found.rows:  # everything the page shows
        _ = row.unit.patient.name, row.via.product_code if row.via else None
    return {
        "rows": len(found.rows),
        "total": found.total,
        "direct": found.direct,
        "patients": found.patients,
    }


def whole_list(lot_id: int, user_id: int) -> int:
    return sum(1 for _ in reagents.recall_rows(lot_id, db.session.get(User, user_id)))


def statements_of(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SQL a call sends, as sent (to explain it)."""
    sent: list[tuple[str, Any]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
        db.session.remove()
    return sent


def explain(lot_id: int, user_id: int) -> list[str]:
    """``EXPLAIN ANALYZE`` of the page's totals and rows queries (PostgreSQL)."""
    plans = []
    sent = statements_of(lambda: page(lot_id, user_id))
    for statement, parameters in sent:
        if "WITH RECURSIVE" not in statement:
            continue
        connection = db.session.connection()
        connection.exec_driver_sql("SET LOCAL jit = off")  # as the service runs it
        raw = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plans.append("\n".join(row[0] for row in raw))
        db.session.rollback()
    db.session.remove()
    return plans


def measure(repeat: int = 20, lots: int = 30, seed: int = 1, plans: bool = False) -> dict:
    """Every measure, in the current app's database (seeded); ``plans``: explain them too
    (PostgreSQL)."""
    results: dict[str, Any] = {}
    user_id = viewer().id
    used = used_lots()
    results["lots"] = db.session.scalar(select(func.count()).select_from(ReagentLot))
    results["lots_used"] = len(used)
    results["uses"] = sum(n for _, n in used)
    if not used:
        return results  # nothing to look up (a database seeded before the register)
    busiest, busiest_uses = used[0]
    samples, shown = timed(lambda: page(busiest, user_id), repeat)
    results["busiest_lot"] = {"lot_id": busiest, "uses": busiest_uses, **shown, **summary(samples)}
    picked = random.Random(seed).sample(used, min(lots, len(used)))
    samples, totals = [], []
    for lot_id, _ in picked:
        times, shown = timed(lambda lot_id=lot_id: page(lot_id, user_id), max(1, repeat // 4))
        samples += times
        totals.append(shown["total"])
    results["random_lots"] = {
        **summary(samples),
        "lots": len(picked),
        "units_per_lot_median": statistics.median(totals),
    }
    samples, count = timed(lambda: whole_list(busiest, user_id), max(1, repeat // 4))
    results["busiest_whole_list"] = {"units": count, **summary(samples)}
    if plans and db.engine.dialect.name == "postgresql":
        results["plans"] = explain(busiest, user_id)
    return results


def run(url: str, repeat: int = 20, lots: int = 30, seed: int = 1) -> dict[str, Any]:
    app = make_app(url)
    results: dict[str, Any] = {"database": safe_url(url), "backend": backend_of(url)}
    with app.app_context():
        results.update(measure(repeat, lots, seed, plans=True))
        if not results["lots_used"]:
            raise SystemExit("no reagent lot was used: seed the database with bench.seed")
        db.engine.dispose()
    return results


def table(results: dict[str, Any]) -> str:
    busiest, rand, whole = (
        results["busiest_lot"],
        results["random_lots"],
        results["busiest_whole_list"],
    )
    return "\n".join(
        [
            f"{results.get('backend', '')}: {results['lots']} lots ({results['lots_used']} used), "
            f"{results['uses']} uses of lots",
            f"{'measure':<44}{'n':>5}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}",
            f"{'first page + totals, busiest lot':<44}{busiest['n']:>5}"
            f"{busiest['median_ms']:>11.2f}{busiest['p95_ms']:>9.2f}{busiest['max_ms']:>9.2f}"
            f"  {busiest['total']} units ({busiest['direct']} used on), "
            f"{busiest['patients']} patients",
            f"{'first page + totals, random lots':<44}{rand['n']:>5}"
            f"{rand['median_ms']:>11.2f}{rand['p95_ms']:>9.2f}{rand['max_ms']:>9.2f}"
            f"  {rand['lots']} lots, median {rand['units_per_lot_median']} units",
            f"{'every unit (the CSV), busiest lot':<44}{whole['n']:>5}"
            f"{whole['median_ms']:>11.2f}{whole['p95_ms']:>9.2f}{whole['max_ms']:>9.2f}"
            f"  {whole['units']} units",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.recall", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL or a temp SQLite file")
    parser.add_argument("--repeat", type=int, default=20, help="calls per measure (20)")
    parser.add_argument("--lots", type=int, default=30, help="random lots to look up (30)")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    results = run(url, args.repeat, args.lots)
    for plan in results.get("plans", ()):
        print(plan, end="\n\n")
    print(table(results))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"recall-{results['backend']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
