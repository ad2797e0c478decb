"""Label rendering speed: labels per second per format and stock, and a 100-label PDF sheet.

    python -m bench.labels [--seconds 2]

Rendering needs no database: the labels are built by the label service's own builders
from unsaved units, so they carry the real content (names, times, catalogue data).
Prints a table and writes ``bench/results/labels.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from lims.domain import identifiers
from lims.labels import STOCKS, Label, render
from lims.models import Location, Patient, Unit
from lims.services.station import labels

from . import DEFAULT_DATABASE_URL, make_app

RESULTS = Path(__file__).resolve().parent / "results" / "labels.json"


def sample_labels() -> dict[str, Label]:
    """One label per template, from unsaved records (an app context gives the site zone)."""
    now = datetime.now(UTC)
    patient = Patient(
        id=1,
        mrn="MRN-004211",
        name="Alexandra Example-Longname",
        birth_date=date(1980, 5, 17),
        wristband=identifiers.make_wristband("C0001", 4211),
    )
    din = identifiers.make_din("C0001", 2026, 123)

    def unit(kind: str, code: str, **extra) -> Unit:
        return Unit(
            din=din,
            check_character=identifiers.check_character(din),
            product_code=code,
            division="00",
            unit_type=kind,
            patient=patient,
            status="quarantine",
            volume_ml=250.0,
            collected_at=now - timedelta(hours=3),
            **extra,
        )

    box = Location(id=1, code="LC00010000072", name="Box 3", kind="box")
    return {
        "source_tube": labels.unit_label(unit("ADIPOSE", "S1010", collection_site="abdomen")),
        "product_bag": labels.unit_label(
            unit("SVF", "S2010", cell_count=42_000_000, expires_at=now + timedelta(hours=20))
        ),
        "wristband": labels.wristband(patient),
        "location": labels.location_label(box),
    }


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second, after one warm-up call (which fills the symbol caches)."""
    work()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        work()
        count += 1
    return count / elapsed


def run(seconds: float) -> dict:
    results: dict = {"machine": platform.processor() or platform.machine(), "rates": []}
    for name, label in sample_labels().items():
        stock = STOCKS[labels.DEFAULT_STOCK[name]]
        for fmt in ("svg", "pdf", "zpl"):
            per_second = rate(partial(render, label, stock, fmt), seconds)
            results["rates"].append(
                {"template": name, "stock": stock.name, "format": fmt, "per_second": per_second}
            )
    tube = sample_labels()["source_tube"]
    start = time.perf_counter()
    sheet = render(tube, STOCKS["tube"], "pdf", copies=100)
    results["sheet_100_tube_pdf_s"] = time.perf_counter() - start
    results["sheet_100_tube_pdf_bytes"] = len(sheet)
    bag = sample_labels()["product_bag"]
    start = time.perf_counter()
    render(bag, STOCKS["bag"], "pdf", copies=100)
    results["sheet_100_bag_pdf_s"] = time.perf_counter() - start
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    with make_app(DEFAULT_DATABASE_URL).app_context():
        results = run(args.seconds)
    for row in results["rates"]:
        print(
            f"{row['template']:<12} {row['stock']:<5} {row['format']:<4} "
            f"{row['per_second']:>8.0f} labels/s"
        )
    print(
        f"100 tube labels, one PDF: {results['sheet_100_tube_pdf_s'] * 1000:.0f} ms "
        f"({results['sheet_100_tube_pdf_bytes'] // 1024} KiB)"
    )
    print(f"100 bag labels, one PDF: {results['sheet_100_bag_pdf_s'] * 1000:.0f} ms")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
