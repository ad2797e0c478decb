"""A 10 000-row units file on PostgreSQL: the dry run of every row, the confirmed job writing
them all in one transaction with its progress, one import ledger entry each (the ledger
intact), and the same file again creates nothing. The times are printed (``-s``) and kept in
docs/performance.md."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Job, LedgerEntry, Unit
from lims.services.custody import ledger
from lims.services.station import data_import

from .conftest import csv_file, finish_threads, unit_rows

ROWS, PATIENTS = 10_000, 100


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """Bulk inserts and the progress written beside the import's transaction: PostgreSQL, as
    in production (SQLite is covered by the smaller tests)."""
    return request.param


def test_ten_thousand_units_imported_at_once_and_not_twice(admin, imported):
    patients = [["mrn", "name"]] + [[f"MRN-{i + 1}", f"Patient {i + 1}"] for i in range(PATIENTS)]
    imported("patients", csv_file(patients))
    content = csv_file(unit_rows(ROWS, patients=PATIENTS))
    entries_before = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    started = time.perf_counter()
    imp = data_import.upload(data_import.Upload(content, "units.csv", "units"), admin)
    dry_run = time.perf_counter() - started
    assert data_import.summary(imp).counts["created"] == ROWS
    started = time.perf_counter()
    done = data_import.confirm(imp.id, admin)
    finish_threads()
    job_time = time.perf_counter() - started

    db.session.expire_all()
    imp = data_import.get_import(done.imp.id, admin)
    job = db.session.get(Job, done.job_id)
    assert imp.status == "imported" and imp.imported_count == ROWS
    assert job.status == "done" and job.progress == job.total == ROWS
    assert db.session.scalar(select(func.count()).select_from(Unit)) == ROWS
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    assert entries - entries_before == ROWS
    assert ledger.verify().intact

    started = time.perf_counter()
    again = data_import.upload(data_import.Upload(content, "units-again.csv", "units"), admin)
    again_time = time.perf_counter() - started
    assert data_import.summary(again).counts == {
        "created": 0,
        "updated": 0,
        "unchanged": ROWS,
        "refused": 0,
    }
    print(
        f"\n10 000-row units file on PostgreSQL: dry run {dry_run:.2f} s, import job "
        f"{job_time:.2f} s, dry run of the same file again {again_time:.2f} s"
    )
