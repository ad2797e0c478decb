"""Bulk import at the service: the dry run judges every row (created, updated, unchanged,
refused beside the cell), the confirmed import writes all or nothing with ``import`` ledger
entries citing the file, and the same file twice creates nothing twice."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import LedgerEntry, Patient, Unit
from lims.services.custody import ledger
from lims.services.station import data_import

from .conftest import PATIENTS, csv_file, din, finish_threads, unit_rows


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_patients_then_units_imported_with_import_entries_and_twice_creates_nothing_twice(
    admin, imported
):
    first = imported("patients", csv_file(PATIENTS))
    assert first.status == "imported" and first.imported_count == 2
    units_file = csv_file(unit_rows(3))
    done = imported("units", units_file)
    assert done.imported_count == 3
    unit = db.session.scalar(select(Unit).where(Unit.din == din(1)[:13]))
    assert unit.status == "received" and unit.check_character == din(1)[13]
    assert unit.patient.mrn == "MRN-1" and unit.custodian_id is None
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.unit_id == unit.id))
    data = json.loads(entry.data)
    assert entry.action == "import" and entry.to_status == "received"
    assert data["sha256"] == done.sha256 and data["row"] == 2 and data["import"] == done.id
    assert data["history"]["received_at"].startswith("2025-03-02T13:40")
    assert ledger.verify().intact

    again = data_import.upload(data_import.Upload(units_file, "again.csv", "units"), admin)
    assert {row["status"] for row in again.rows} == {"unchanged"}
    before = count(LedgerEntry)
    data_import.confirm(again.id, admin)
    finish_threads()
    assert count(Unit) == 3 and count(Patient) == 2 and count(LedgerEntry) == before


def test_bad_rows_are_refused_beside_the_cell_and_nothing_is_confirmed(admin, imported):
    imported("patients", csv_file(PATIENTS))
    rows = unit_rows(2)
    bad_check = din(7)[:13] + ("A" if din(7)[13] != "A" else "B")
    rows.append(
        [bad_check, "ADIPOSE", "MRN-1", "received", "2025-03-02 09:15", "120", "2025-03-02 13:40"]
    )
    rows.append(
        [din(8), "ADIPOSE", "MRN-9", "released", "2025-03-02 09:15", "0", "2025-03-01 13:40"]
    )
    rows.append(rows[1])
    rows.append([din(9), "SVF", "MRN-1", "released", "2025-03-02 09:15", "8", ""])
    imp = data_import.upload(data_import.Upload(csv_file(rows), "bad.csv", "units"), admin)
    by_row = {row["row"]: row for row in imp.rows}
    assert by_row[2]["status"] == by_row[3]["status"] == "created"
    assert "check character" in by_row[4]["problems"]["din"]
    problems = by_row[5]["problems"]
    assert "import the patients first" in problems["mrn"]
    assert "outside" in problems["volume_ml"]
    assert "status" in problems  # a collection is not released
    assert "before collected_at" in problems["received_at"]
    assert by_row[6]["problems"] == {"din": "row 2 gives the same din"}
    # a product still to be given comes in quarantine: QA releases it here (decision 110)
    assert "imported in quarantine" in by_row[7]["problems"]["status"]
    try:
        data_import.confirm(imp.id, admin)
    except data_import.Conflict as exc:
        assert exc.code == "rows_refused"
    else:
        raise AssertionError("a dry run with refused rows was confirmed")
    assert count(Unit) == 0


def test_a_row_refused_when_the_job_runs_fails_the_whole_import(admin, imported, users):
    """Between the dry run and the job someone registers the file's last patient with another
    name: the job judges every row again and writes nothing at all."""
    imp = data_import.upload(data_import.Upload(csv_file(PATIENTS), "p.csv", "patients"), admin)
    assert {row["status"] for row in imp.rows} == {"created"}
    db.session.add(Patient(mrn="MRN-2", name="Someone Else", wristband="PC0001999999X"))
    db.session.commit()
    entries = count(LedgerEntry)

    done = data_import.confirm(imp.id, admin)
    finish_threads()
    imp = data_import.get_import(done.imp.id, admin)
    summary = data_import.summary(imp)
    assert imp.status == "failed" and summary.job_status == "failed"
    assert "row 3, name: record number MRN-2 is Someone Else on record" in summary.words
    assert count(Patient) == 1 and count(LedgerEntry) == entries
