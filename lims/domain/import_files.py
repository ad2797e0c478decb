"""Files of what a lab already has (patients, units, locations, users): reading a CSV or XLSX
into rows of named cells, the columns of each kind, reading a cell, and the templates.

No database here: ``services.station.data_import`` matches the rows to the records and says
what becomes of each. A row is its number in the file (the header is row 1, as a spreadsheet
shows it) and each refusal names the column, so the person fixes the very cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from . import instrument_files

MAX_BYTES = 10 * 1024 * 1024  # a file larger than this is refused (413)
MAX_ROWS = 20_000  # data rows in one file
MAX_CELL = 200  # characters in one cell
CSV, XLSX = "csv", "xlsx"
FILE_FORMATS = (CSV, XLSX)
_XLSX_MAGIC = b"PK\x03\x04"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FileError(ValueError):
    """A file that cannot be read as a table: the message says why (nothing is imported)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str = ""
    example2: str = ""


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    key_columns: tuple[str, ...]  # the natural key
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "patients",
            "Patients",
            ("mrn",),
            (
                Column(
                    "mrn", True, "the hospital's record number (the key)", "MRN-10421", "MRN-10422"
                ),
                Column(
                    "name", True, "full name, 2 to 120 characters", "Ada Example", "Ben Example"
                ),
                Column("birth_date", False, "YYYY-MM-DD", "1961-04-12", ""),
                Column("clinician", False, "username of the patient's clinician", "doctor", ""),
                Column("diagnosis", False, "at most 80 characters", "knee osteoarthritis", ""),
                Column("stage", False, "at most 40 characters", "KL grade 3", ""),
            ),
        ),
        Kind(
            "units",
            "Units",
            ("din", "product_code", "division"),
            (
                Column(
                    "din",
                    True,
                    "the ISBT 128 DIN with its check character (or as scanned, =DIN + flags); "
                    "kept as it is",
                    "C0001260001235",
                    "C0001260001235",
                ),
                Column("type", True, "unit type: ADIPOSE, MARROW, BLOOD, SVF, …", "ADIPOSE", "SVF"),
                Column("product_code", False, "left empty: the type's", "S1010", "S2010"),
                Column("division", False, "two characters; left empty: 00", "00", "00"),
                Column(
                    "mrn",
                    True,
                    "the patient's record number (a patient on record)",
                    "MRN-10421",
                    "MRN-10421",
                ),
                Column(
                    "status",
                    True,
                    "its status now: collected, received, quarantine, administered, …",
                    "processed",
                    "administered",
                ),
                Column(
                    "collected_at",
                    True,
                    "date and time of collection",
                    "2026-03-02 09:15",
                    "2026-03-02 09:15",
                ),
                Column("volume_ml", True, "volume in mL", "120", "8.5"),
                Column(
                    "collection_site",
                    False,
                    "a source's collection site (abdomen, …)",
                    "abdomen",
                    "",
                ),
                Column(
                    "site",
                    False,
                    "facility number of the site holding it; empty: the DIN's",
                    "",
                    "",
                ),
                Column(
                    "parent_product_code",
                    False,
                    "a product: the product code of the unit of the same DIN it was made from",
                    "",
                    "S1010",
                ),
                Column("parent_division", False, "left empty: 00", "", ""),
                Column("location", False, "location code (L…) where it is stored", "", ""),
                Column(
                    "received_at", False, "date and time", "2026-03-02 13:40", "2026-03-02 13:40"
                ),
                Column(
                    "processed_at", False, "date and time", "2026-03-02 17:05", "2026-03-02 17:05"
                ),
                Column(
                    "released_at",
                    False,
                    "date and time (released and later)",
                    "",
                    "2026-03-04 10:00",
                ),
                Column(
                    "administered_at",
                    False,
                    "date and time (administered)",
                    "",
                    "2026-03-04 11:30",
                ),
                Column(
                    "expires_at",
                    False,
                    "date and time; empty: from the catalogue's shelf life",
                    "",
                    "",
                ),
                Column("cell_count", False, "a whole number of cells", "", "48000000"),
                Column(
                    "donor_testing", False, "performed or not_performed", "performed", "performed"
                ),
                Column(
                    "chain_of_identity", False, "the therapy course (CH…), new, or empty", "", ""
                ),
            ),
        ),
        Kind(
            "locations",
            "Locations",
            ("code",),
            (
                Column(
                    "code",
                    False,
                    "a location code (L…) already on labels; empty: a new one (then the key is parent and name)",
                    "",
                    "",
                ),
                Column("name", True, "1 to 120 characters", "Cryo room", "Freezer 2"),
                Column(
                    "kind",
                    True,
                    "site, room, freezer, incubator, refrigerator, bench, rack, box, position",
                    "room",
                    "freezer",
                ),
                Column(
                    "parent",
                    False,
                    "the parent's code, or its name when it has no code yet (earlier in the file)",
                    "",
                    "Cryo room",
                ),
                Column(
                    "site",
                    False,
                    "facility number; empty: the parent's, else the first site",
                    "",
                    "",
                ),
            ),
        ),
        Kind(
            "users",
            "Users",
            ("username",),
            (
                Column(
                    "username",
                    True,
                    "2-64 characters: lower-case letters, digits, . _ -",
                    "jdoe",
                    "mroe",
                ),
                Column("full_name", True, "as printed on signatures", "Jane Doe", "Mark Roe"),
                Column(
                    "role", True, "technician, clinician, qa or admin", "technician", "clinician"
                ),
                Column("email", False, "e-mail address", "jdoe@example.org", ""),
                Column(
                    "sites", False, "facility numbers separated by ;  empty: the first site", "", ""
                ),
            ),
        ),
    )
}
ORDER = ("locations", "users", "patients", "units")  # what an empty installation imports first


@dataclass(frozen=True)
class Table:
    """A file read: its format, the header as written and each data row as {column: text}."""

    format: str
    headers: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  # (row number in the file, cells)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (as a spreadsheet names columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).strip().lower()).strip("_")


def detect_format(content: bytes, filename: str) -> str:
    if content.startswith(_XLSX_MAGIC):
        return XLSX
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileError("the file is named .xlsx but is not an Excel workbook: save it again")
    return CSV


def read(content: bytes, filename: str, kind: Kind) -> Table:
    """The file as a table of the kind's columns; an unknown or missing column is refused."""
    if not content.strip():
        raise FileError("the file is empty")
    if len(content) > MAX_BYTES:
        raise FileError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    fmt = detect_format(content, filename)
    raw = _xlsx_rows(content) if fmt == XLSX else _csv_rows(content)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    keys: list[str] = []
    for number, cells in raw:
        if header is None:
            if not any(cells):
                continue
            header = cells
            keys = _header(header, kind)
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileError(f"the file has more than {MAX_ROWS} rows: split it")
        extra = [c for c in cells[len(keys) :] if c]
        if extra:
            raise FileError(f"row {number} has more cells than the header has columns")
        rows.append(
            (number, {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(keys)})
        )
    if header is None:
        raise FileError("the file has no header row")
    return Table(fmt, tuple(header), tuple(rows))


def _header(header: list[str], kind: Kind) -> list[str]:
    keys = [header_key(h) for h in header]
    while keys and not keys[-1]:
        keys.pop()
    unknown = [h for h, k in zip(header, keys, strict=False) if k not in kind.names]
    if unknown:
        raise FileError(
            f"unknown column {unknown[0]!r} for {kind.label.lower()}; the columns are "
            + ", ".join(kind.names)
        )
    seen = {k for k in keys if keys.count(k) > 1}
    if seen:
        raise FileError(f"column {sorted(seen)[0]} is named twice")
    missing = [c for c in kind.required if c not in keys]
    if missing:
        raise FileError(f"the file has no {', '.join(missing)} column (required)")
    return keys


def _clean(value: str) -> str:
    if _CONTROL.search(value):
        raise FileError("the file holds control characters: save it as CSV or XLSX again")
    if len(value) > MAX_CELL:
        raise FileError(f"a cell holds more than {MAX_CELL} characters: {value[:40]!r}…")
    return value.strip()


def _csv_rows(content: bytes) -> Iterable[tuple[int, list[str]]]:
    try:
        text = instrument_files.decode(content)
    except instrument_files.FileError as exc:
        raise FileError(exc.message) from None
    first = text.lstrip().split("\n", 1)[0]
    delimiter = max(instrument_files.DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [_clean(c) for c in cells]
    except csv.Error as exc:
        raise FileError(f"the CSV cannot be read: {exc}") from None


def _xlsx_rows(content: bytes) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl's refusals of a damaged workbook are of many kinds
        raise FileError(
            f"the workbook cannot be read ({type(exc).__name__}): save it again"
        ) from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise FileError(
                    f"row {number + 1} of the workbook cannot be read ({type(exc).__name__}): "
                    "save it again"
                ) from None
            number += 1
            yield number, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A workbook cell as the text a CSV would hold (dates in ISO form, whole numbers bare)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clean(str(value))


# ---------------------------------------------------------------------------- cells


class CellError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_date(text: str) -> date:
    m = _DATE.match(text) or _DATETIME.match(text)
    if not m:
        raise CellError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise CellError(f"{text!r} is not a date of the calendar") from None


def parse_time(text: str, zone: tzinfo) -> datetime:
    """A date and time; without an offset it is the site's local time (``zone``). UTC out."""
    m = _DATETIME.match(text)
    if not m:
        if _DATE.match(text):
            raise CellError(f"{text!r} has no time of day (YYYY-MM-DD HH:MM)")
        raise CellError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)")
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        raise CellError(f"{text!r} is not a time of the calendar") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def parse_number(text: str, *, low: float, high: float) -> float:
    try:
        number = instrument_files.parse_number(text)
    except ValueError as exc:
        raise CellError(str(exc)) from None
    if number.qualifier or not low <= number.value <= high:
        raise CellError(f"{text!r} is outside {low:g} to {high:g}")
    return number.value


def parse_count(text: str) -> int:
    value = parse_number(text, low=0, high=10**15)
    if not value.is_integer():
        raise CellError(f"{text!r} is not a whole number")
    return int(value)


# ---------------------------------------------------------------------------- templates


def template_rows(kind: Kind) -> list[list[str]]:
    return [
        list(kind.names),
        [c.example for c in kind.columns],
        *([[c.example2 for c in kind.columns]] if any(c.example2 for c in kind.columns) else []),
    ]


def template_csv(kind: Kind) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(template_rows(kind))
    return out.getvalue().encode("utf-8")


def template_xlsx(kind: Kind) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = kind.label
    for row in template_rows(kind):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(kind.columns):
        sheet.column_dimensions[column_letter(index)].width = max(12, len(column.name) + 4)
    notes = book.create_sheet("Columns")
    notes.append(["column", "required", "meaning"])
    for column in kind.columns:
        notes.append([column.name, "yes" if column.required else "no", column.meaning])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
