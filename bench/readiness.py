"""The readiness board on a big lab.

    python -m bench.readiness [--database-url URL] [--repeat 5]

Seed first (``python -m bench.seed --units 100000``). Measures, each call in a fresh
session as a request has: the stage history of each product type
(``services.turnaround.stage_summaries``, ranked in the database), and each clinician's
whole board (``services.readiness.board``, at most 200 patients) twice: reading the history
on every call (``TURNAROUND_CACHE_SECONDS=0``) and as production does, with the history
kept for five minutes per process. Prints a table and writes
``bench/results/readiness-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Unit, User
from lims.services.clinic import readiness, turnaround

from . import backend_of, database_url, make_app, safe_url

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PRODUCT_TYPES = ("SVF", "BM-MNC", "PRP", "MSC(AT)")


def timed(call: Callable[[], object], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def run(url: str, repeat: int) -> dict:
    app = make_app(url)
    results: dict = {"database": safe_url(url), "backend": backend_of(url)}
    with app.app_context():
        results["units"] = db.session.scalar(select(func.count()).select_from(Unit))
        results["history"] = {
            kind: timed(lambda kind=kind: turnaround.stage_summaries(kind), repeat)
            for kind in PRODUCT_TYPES
        }
        doctors = [u.id for u in db.session.scalars(select(User).where(User.role == "clinician"))]
        boards = {}
        for doctor_id in doctors[:3]:

            def board(doctor_id=doctor_id):
                return readiness.board(db.session.get(User, doctor_id))

            rows = len(board().rows)
            app.config["TURNAROUND_CACHE_SECONDS"] = 0
            uncached = timed(board, repeat)
            app.config["TURNAROUND_CACHE_SECONDS"] = 300
            board()  # the first board of five minutes reads the history
            cached = timed(board, repeat)
            boards[str(doctor_id)] = {"patients": rows, "uncached": uncached, "cached": cached}
        results["boards"] = boards
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = database_url(args.database_url)
    results = run(url, args.repeat)
    print(f"{results['backend']}: {results['units']} units")
    for kind, figures in results["history"].items():
        print(f"  stage history {kind:8} median {figures['median_ms']:8.1f} ms")
    for doctor, figures in results["boards"].items():
        print(
            f"  board of clinician {doctor} ({figures['patients']} patients): "
            f"{figures['uncached']['median_ms']} ms reading the history, "
            f"{figures['cached']['median_ms']} ms with it kept"
        )
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"readiness-{results['backend']}.json"
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
