"""Reading an import file (no database): a file that is not a table of its kind is refused
whole with the reason; semicolons, Windows-1252, workbook dates and column names as people
write them are read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from lims.domain import import_files as files

from .conftest import xlsx_file

PATIENTS = files.KINDS["patients"]


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"", "p.csv", "the file is empty"),
        (b"mrn,nome\r\n1,x\r\n", "p.csv", "unknown column 'nome'"),
        (b"mrn,name,mrn\r\n", "p.csv", "column mrn is named twice"),
        (b"name\r\nAda\r\n", "p.csv", "the file has no mrn column (required)"),
        (b"mrn,name\r\n1,Ada,extra\r\n", "p.csv", "row 2 has more cells than the header"),
        (b"mrn,name\r\n1," + b"x" * 201 + b"\r\n", "p.csv", "a cell holds more than 200"),
        (b"PK\x03\x04not a workbook", "p.xlsx", "the workbook cannot be read"),
        (b"mrn,name\r\n", "p.xlsx", "named .xlsx but is not an Excel workbook"),
    ],
)
def test_a_file_that_is_not_a_table_of_its_kind_is_refused_whole(content, name, reason):
    with pytest.raises(files.FileError) as refused:
        files.read(content, name, PATIENTS)
    assert reason in refused.value.message


def test_semicolons_windows_1252_and_headers_as_people_write_them():
    table = files.read("MRN;Name;Birth date\r\n\r\nM-1;Zoë Ñandú;1961-04-12\r\n".encode("cp1252"),
                       "p.csv", PATIENTS)  # fmt: skip
    assert table.format == "csv" and table.rows == ((3, {"mrn": "M-1", "name": "Zoë Ñandú",
                                                         "birth_date": "1961-04-12"}),)  # fmt: skip


def test_a_workbook_gives_dates_and_numbers_as_a_csv_would():
    content = xlsx_file([["mrn", "name", "birth_date"], [10421, "Ada", datetime(1961, 4, 12)]])
    table = files.read(content, "p.xlsx", PATIENTS)
    assert table.format == "xlsx"
    assert table.rows[0][1] == {"mrn": "10421", "name": "Ada", "birth_date": "1961-04-12 00:00"}
    assert files.parse_date(table.rows[0][1]["birth_date"]) == date(1961, 4, 12)


def test_times_without_an_offset_are_the_sites_local_time():
    berlin = ZoneInfo("Europe/Berlin")
    assert files.parse_time("2026-03-02 09:15", berlin) == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert files.parse_time("2026-03-02T09:15Z", berlin) == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    with pytest.raises(files.CellError, match="has no time of day"):
        files.parse_time("2026-03-02", berlin)
