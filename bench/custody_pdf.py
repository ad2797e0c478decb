"""The chain-of-custody report of a unit with a long history, as a PDF.

    python -m bench.custody_pdf [--entries 500] [--database-url URL] [--repeats 5]

Registers one collection through the services on a fresh database (a SQLite file in the temp
directory unless told otherwise), receives it, then gives it a long history of label prints
(each a ``print_label`` or ``reprint_label`` entry with its reason, as a bench that reprints
damaged labels would) until the unit has ``--entries`` ledger entries. Then it builds the
report (``custody_report.build``) and renders the PDF (``custody_pdf.render_pdf``) ``--repeats``
times and prints the median of each and the PDF's size and pages. Issue 15's target: under
1 s for 500 entries.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from . import make_app, safe_url


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in the temp directory")
    parser.add_argument("--out", type=Path, help="also keep the PDF here")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'custody-pdf.sqlite3'}"
    os.environ.setdefault("LEDGER_KEY", "bench-custody-pdf")
    os.environ.setdefault("SECRET_KEY", "bench-custody-pdf")
    app = make_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        from lims.extensions import db
        from lims.models import LedgerEntry
        from lims.services.actions import units
        from lims.services.admin import accounts
        from lims.services.audit import custody_pdf, custody_report
        from lims.services.station import labels

        upgrade()
        password = secrets.token_urlsafe(18)
        suffix = secrets.token_hex(3)
        doctor = accounts.create_user(
            f"pdf-doctor-{suffix}", "clinician", password, full_name="Pdf Doctor"
        )
        tech = accounts.create_user(
            f"pdf-tech-{suffix}", "technician", password, full_name="Pdf Tech"
        )
        qa = accounts.create_user(f"pdf-qa-{suffix}", "qa", password, full_name="Pdf Qa")
        collected = datetime.now(UTC) - timedelta(hours=2)
        unit = units.register(
            {
                "patient": {
                    "mrn": f"PDF-{suffix}",
                    "name": "Pdf Patient",
                    "birth_date": date(1980, 1, 1).isoformat(),
                },
                "type": "ADIPOSE",
                "collection_site": "abdomen",
                "volume_ml": 200,
                "collected_at": collected.isoformat(),
            },
            doctor,
        ).unit
        db.session.commit()

        def entries() -> int:
            return db.session.scalar(select(func.count()).where(LedgerEntry.unit_id == unit.id))

        labels.print_unit_label(unit.id, {"format": "zpl"}, tech)
        db.session.commit()
        while entries() < args.entries:
            labels.print_unit_label(
                unit.id, {"format": "zpl", "reason": "label smudged at the bench"}, tech
            )
            db.session.commit()
        history = entries()
        built, rendered, size, pages = [], [], 0, 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            report = custody_report.build(unit.id, qa)
            built.append(time.perf_counter() - started)
            started = time.perf_counter()
            pdf = custody_pdf.render_pdf(report)
            rendered.append(time.perf_counter() - started)
            size, pages = len(pdf), pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
            db.session.rollback()
        if args.out:
            args.out.write_bytes(pdf)
    result = {
        "entries": history,
        "build_s": round(statistics.median(built), 3),
        "render_s": round(statistics.median(rendered), 3),
        "total_s": round(statistics.median(built) + statistics.median(rendered), 3),
        "pdf_kib": size // 1024,
        "pages": pages,
    }
    print(
        f"custody report of a unit with {history} entries on {safe_url(url)}: built in "
        f"{result['build_s'] * 1000:.0f} ms, PDF rendered in {result['render_s'] * 1000:.0f} ms "
        f"({result['pdf_kib']} KiB, {pages} pages): {result['total_s']:.2f} s in all"
    )
    return result


if __name__ == "__main__":
    main()
