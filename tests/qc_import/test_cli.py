"""``flask --app wsgi import-qc FILE``: an instrument PC's watch folder imports each export
as it appears. Exit 0 when every result was recorded (standards skipped); 1, naming each,
when rows were refused; ``--dry-run`` previews and records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.models import QcImport, QcResult

from .conftest import DATA, sample_file


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def export(tmp_path, product):
    """``export(name, n)``: the sample file pointed at n fresh products, in a watch folder."""

    def _export(name: str, n: int, kind: str = "ADIPOSE") -> Path:
        units = {i: product(kind) for i in range(1, n + 1)}
        path = tmp_path / name
        path.write_bytes(sample_file(name, units))
        return path

    return _export


def import_qc(runner, path: Path, *args: str):
    return runner.invoke(args=["import-qc", str(path), *args])


def test_a_clean_file_is_imported_and_exits_zero(runner, export, instruments, users):
    path = export("countess_export.csv", 2)

    result = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["countess"],
        "--user", "tech", "--lot", "C3-SLIDES-0412",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "4 results recorded, 0 refused, 0 skipped" in result.stdout
    assert count(QcResult) == 4
    lots = set(db.session.scalars(select(QcResult.lot)))
    assert lots == {"C3-SLIDES-0412"}


def test_refused_rows_are_printed_and_exit_one(runner, export, instruments):
    path = export("nucleocounter_nc200.csv", 3)

    result = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["counter"],
        "--user", "tech", "--lot", "VIA1-2611-04",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "6 results recorded, 4 refused" in result.stdout
    assert (
        "refused: line 13 'T0001 26 000004 X' Viability: 'T0001 26 000004 X' is not a unit "
        "identifier: check character 'X' is wrong"
    ) in result.stderr
    assert "refused: line 14 '=T00012600009974' Viable cell count: no unit has identifier" in (
        result.stderr
    )
    assert count(QcResult) == 6
    again = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["counter"],
        "--user", "tech", "--lot", "VIA1-2611-04",
    )  # fmt: skip
    assert again.exit_code == 1 and "0 results recorded, 10 refused" in again.stdout
    assert "already imported" in again.stderr
    assert count(QcResult) == 6  # the same file twice: nothing twice


def test_a_dry_run_records_nothing(runner, export, instruments):
    path = export("countess_export.csv", 2)

    result = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["countess"],
        "--user", "tech", "--lot", "C3", "--dry-run",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "previewed (dry run): 4 ready, 0 refused, 0 skipped; nothing recorded" in result.stdout
    assert count(QcResult) == 0
    assert db.session.scalar(select(QcImport.status)) == "previewed"  # to confirm on screen


def test_the_kit_lot_comes_from_the_file_when_it_names_one(runner, export, instruments):
    path = export("endotoxin_nexgen.csv", 3)
    args = ["--format", "endotoxin", "--instrument", instruments["reader"], "--user", "tech"]

    mistyped = import_qc(runner, path, *args, "--lot", "2317945")
    assert mistyped.exit_code == 1 and "the file names kit lot 2317954, not 2317945" in (
        mistyped.output
    )
    assert count(QcImport) == 0

    result = import_qc(runner, path, *args)

    assert result.exit_code == 1  # line 18's spike recovery is out of range
    assert "2 results recorded, 1 refused, 5 skipped" in result.stdout
    assert set(db.session.scalars(select(QcResult.lot))) == {"2317954"}


def test_a_generic_file_takes_its_mapping(runner, export, instruments):
    path = export("sysmex_xn_prp.csv", 2, kind="BLOOD")

    result = import_qc(
        runner, path, "--format", "generic", "--instrument", instruments["analyzer"],
        "--user", "tech", "--lot", "XN-CELLPACK-88",
        "--mapping", str(DATA / "sysmex_xn_prp.mapping.json"),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert count(QcResult) == 2


@pytest.mark.parametrize(
    ("user", "words"),
    [("nobody", "no active user 'nobody'"), ("qa", "a qa may not record QC results")],
)
def test_who_imports_must_be_someone_who_records_qc(runner, export, instruments, user, words):
    path = export("countess_export.csv", 2)

    result = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["countess"],
        "--user", user, "--lot", "C3",
    )  # fmt: skip

    assert result.exit_code != 0 and words in result.output
    assert count(QcImport) == 0 and count(QcResult) == 0


def test_a_file_that_is_not_an_export(runner, tmp_path, instruments):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    result = import_qc(
        runner, path, "--format", "cell_counter", "--instrument", instruments["countess"],
        "--user", "tech", "--lot", "C3",
    )  # fmt: skip

    assert result.exit_code == 1 and "not a text file" in result.output
    assert count(QcImport) == 0
