"""Bulk import fixtures: files built here (CSV or XLSX) from rows of cells, and a DIN of the
test facility with its check character."""

from __future__ import annotations

import csv
import io
import threading

import pytest

from lims.domain import identifiers
from lims.services.station import data_import


def csv_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def xlsx_file(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def din(sequence: int, facility: str = "C0001", year: int = 25) -> str:
    """A DIN typed with its check character, as an old system's sheet lists it."""
    body = identifiers.make_din(facility, year, sequence)
    return body + identifiers.check_character(body)


PATIENTS = [
    ["mrn", "name", "birth_date", "clinician", "diagnosis"],
    ["MRN-1", "Ada Example", "1961-04-12", "", "knee osteoarthritis"],
    ["MRN-2", "Ben Example", "", "", ""],
]
UNIT_HEADER = ["din", "type", "mrn", "status", "collected_at", "volume_ml", "received_at"]


def unit_rows(n: int, *, patients: int = 2, start: int = 1) -> list[list[str]]:
    return [UNIT_HEADER] + [
        [
            din(start + i),
            "ADIPOSE",
            f"MRN-{i % patients + 1}",
            "received",
            "2025-03-02 09:15",
            "120",
            "2025-03-02 13:40",
        ]
        for i in range(n)
    ]


@pytest.fixture
def admin(users):
    return users["admin"]


@pytest.fixture
def imported(admin):
    """``imported(kind, content)``: the file's dry run, confirmed, its job run here."""

    def _imported(kind: str, content: bytes, name: str = "file.csv"):
        imp = data_import.upload(data_import.Upload(content, name, kind), admin)
        assert not data_import.refused_rows(imp), data_import.refused_rows(imp)
        done = data_import.confirm(imp.id, admin)
        finish_threads()
        return data_import.get_import(done.imp.id, admin)

    return _imported


def finish_threads() -> None:
    """Wait for the import jobs' threads (the session lets go of SQLite's lock first)."""
    from lims.extensions import db

    db.session.rollback()
    for thread in threading.enumerate():
        if thread.name.startswith("lims-job-import-"):
            thread.join(30)
