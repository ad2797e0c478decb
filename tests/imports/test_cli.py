"""``flask --app wsgi import units|patients|locations|users FILE [--dry-run]``: exit 1 naming
each refused cell, nothing written; exit 0 when imported; the same file again creates nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from lims.extensions import db
from lims.models import Patient
from tests.backends import backend  # noqa: F401  (SQLite alone: the command's words and exit)

from .conftest import PATIENTS, csv_file


def test_refused_rows_exit_one_then_a_clean_file_imports_once(runner, users, tmp_path):
    bad = tmp_path / "patients.csv"
    bad.write_bytes(csv_file([*PATIENTS, ["MRN 3!", "X", "1961-02-30", "", ""]]))

    result = runner.invoke(args=["import", "patients", str(bad), "--user", "admin"])

    assert result.exit_code == 1
    assert "refused: row 4, mrn: letters, digits, - and / only" in result.stderr
    assert "refused: row 4, name: 2 to 120 characters" in result.stderr
    assert "refused: row 4, birth_date: '1961-02-30' is not a date of the calendar" in result.stderr
    assert "2 created, 0 updated, 0 unchanged, 1 refused; nothing written" in result.stdout
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 0

    good = tmp_path / "patients-fixed.csv"
    good.write_bytes(csv_file(PATIENTS))
    dry = runner.invoke(args=["import", "patients", str(good), "--dry-run"])
    assert dry.exit_code == 0 and "(dry run): 2 created" in dry.stdout
    first = runner.invoke(args=["import", "patients", str(good)])
    again = runner.invoke(args=["import", "patients", str(good)])

    assert first.exit_code == 0 and "2 created, 0 updated, 0 unchanged, 0 refused" in first.stdout
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in again.stdout
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 2
