"""A 10 000-row counter export on PostgreSQL, imported by a real Celery worker on the real
Redis: the preview of every row, the job's progress as a page sees it, each result recorded
once, the ledger intact, and the same file again imports nothing.

The file is made here: 250 products in quarantine (written straight into the tables: test
set-up for volume, as the benchmarks do) each counted once, and 9 750 rows of samples no unit
has (another study's tubes on the same run), refused at the preview in bulk."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from lims.domain import identifiers
from lims.extensions import db
from lims.models import Patient, QcResult, Unit
from lims.models.types import utcnow
from lims.services.custody import ledger
from lims.services.station import qc_import
from tests.notify.conftest import Worker, wait_for

REAL, ROWS = 250, 10_000
HEADER = (
    "NucleoView NC-200 Export\nInstrument;NucleoCounter NC-200\nOperator;tech\n\n"
    "Sample ID;Date;Time;Total cells (cells/ml);Viable cells (cells/ml);Viability (%)\n"
)


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The worker is another process sharing the database: PostgreSQL, as in production."""
    return request.param


@pytest.fixture
def app_config(redis_url) -> dict[str, Any]:
    return {"REDIS_URL": redis_url}


@pytest.fixture
def worker(app, redis_url, database_url, tmp_path):
    env = {
        **os.environ,
        "LIMS_ENV": "development",
        "LIMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "LEDGER_KEY": app.config["LEDGER_KEY"],
        "FACILITY_CODE": app.config["FACILITY_CODE"],
        "REDIS_URL": redis_url,
    }
    running = Worker(env, tmp_path / "worker")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def many_products(count: int, by) -> list[Unit]:
    now = utcnow()
    made = []
    for i in range(count):
        patient = Patient(
            mrn=f"BULK-{i}",
            name=f"Bulk Patient {i}",
            wristband=identifiers.make_wristband("T0001", 500_000 + i),
        )
        din = identifiers.make_din("T0001", now.year, 500_000 + i)
        made.append(
            Unit(
                din=din,
                check_character=identifiers.check_character(din),
                product_code="S2010",
                division="00",
                unit_type="SVF",
                patient=patient,
                status="quarantine",
                custodian_id=by.id,
                volume_ml=10,
                collected_at=now - timedelta(hours=3),
                collected_by_id=by.id,
                expires_at=now + timedelta(hours=20),
            )
        )
    db.session.add_all(made)
    db.session.commit()
    return made


def big_file(products: list[Unit]) -> bytes:
    lines = [HEADER]
    stranger = 0
    for i in range(ROWS):
        if i % (ROWS // REAL) == 0 and i // (ROWS // REAL) < len(products):
            sample = products[i // (ROWS // REAL)].barcode_data
        else:
            stranger += 1
            sample = identifiers.barcode_data(identifiers.make_din("T0001", 25, stranger))
        lines.append(f"{sample};05.12.2026;14:05:11;2,46E+06;2,15E+06;87,{i % 10}\n")
    return "".join(lines).encode()


@pytest.mark.postgres_only
def test_ten_thousand_rows_through_the_job(worker, users, instruments, upload, capsys):
    products = many_products(REAL, users["technician"])
    content = big_file(products)
    assert content.count(b"\n") == ROWS + 5

    started = time.monotonic()
    imp = upload(content, instruments["counter"], filename="run-2026-12-05.csv")
    previewed = time.monotonic() - started
    assert imp.row_count == ROWS
    counts = qc_import.summary(imp).counts
    assert counts == {"ready": 2 * REAL, "refused": 2 * (ROWS - REAL), "skipped": 0, "imported": 0}

    started = time.monotonic()
    done = qc_import.confirm(imp.id, users["technician"])
    db.session.rollback()
    assert done.job_id is not None
    seen: list[int] = []

    def finished() -> qc_import.Summary | None:
        try:
            summary = qc_import.summary(qc_import.get_import(imp.id, users["technician"]))
        finally:
            db.session.rollback()
        seen.append(summary.progress)
        return summary if summary.finished else None

    summary = wait_for(finished, 900, "the import job")
    imported = time.monotonic() - started

    assert summary.status == "imported", summary
    assert summary.progress == summary.total == 2 * REAL
    assert any(0 < p < summary.total for p in seen), "the bar never moved"
    assert summary.counts["imported"] == 2 * REAL
    sources = list(db.session.scalars(select(QcResult.source)))
    assert len(sources) == len(set(sources)) == 2 * REAL
    assert all(s.startswith(f"{imp.sha256}:") for s in sources)
    assert ledger.verify().intact

    again = upload(content, instruments["counter"])
    assert qc_import.summary(again).counts["ready"] == 0
    assert qc_import.confirm(again.id, users["technician"]).imp.imported_count == 0
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(QcResult)) == 2 * REAL
    with capsys.disabled():
        print(
            f"\n{ROWS} rows ({len(content) // 1024} KiB): preview {previewed:.1f} s "
            f"({len(imp.preview) // 1024} KiB of preview lines); "
            f"{2 * REAL} results recorded by the worker in {imported:.1f} s "
            f"({2 * REAL / imported:.0f} per second)"
        )
