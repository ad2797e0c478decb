"""Instrument result files: what each export looks like, read into plain rows (product §7).

Plain Python, no database: the import service hands in the bytes as uploaded and gets rows of
results back, each result already in the unit of its QC test, or with the reason it cannot be
read. Which unit a row names, and whether the result may be recorded, the service decides.

The formats a cell lab's instruments export:

- ``cell_counter``: a NucleoCounter (NC-200, NC-202) or Countess export. A sample id, the
  viable (live) cells, usually the total and dead cells, and the viability in %. Counters
  report concentrations (cells/mL, sometimes ×10⁶ cells/mL): the viable cell count of a
  product is the concentration times a volume, the file's own ``Volume`` column when it has
  one, else the unit's recorded volume (the service multiplies and says so).
- ``flow_cytometry``: a summary table (FACSDiva batch export, a FlowJo table): a sample id and
  a percentage per marker (``CD73+ %Parent``, ``HLA-DR | Freq. of Parent (%)``). Columns of
  other markers, event counts and intensities are read past.
- ``endotoxin``: a kinetic LAL reader's report (Endosafe, WinKQCL style): a sample id, the
  result in EU/mL, the spike (PPC) recovery, and a sample type; standards, blanks and
  controls are the run's own rows, not samples. ``<0,050`` (below the quantitation limit) is
  recorded as the limit, the upper bound of the true value; ``>`` (above the range) and a
  spike recovery outside 50–200 % make no valid result (USP <85>).
- ``generic``: any CSV, with a mapping saying which column holds the sample id and which
  column is which test, in which unit.

Exports come with instrument header lines above the table (instrument, serial number,
software, operator, run date): the table starts at the first line that has the format's
columns. Separators are ``;``, tab or ``,``; numbers may use a decimal comma (``85,4``) and
spaces or points between thousands. Each result is placed by its line and column of the file,
so one cell of one file can only ever be imported once.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .qc import FLOW_NEGATIVE, FLOW_POSITIVE, TESTS, number_text

MAX_BYTES = 5 * 1024 * 1024  # a file larger than this is refused (413)
MAX_ROWS = 20_000  # data rows in one file
MAX_COLUMNS = 200
HEADER_SEARCH_LINES = 60  # the table's header must start within this many lines


@dataclass(frozen=True)
class FileFormat:
    key: str
    label: str
    equipment_kinds: frozenset[str]  # which register kinds export it (empty: any)
    hint: str  # the columns it needs, for the message when a file has none of them

    @property
    def name(self) -> str:
        """``cell counter``: the label without its examples, for sentences."""
        return self.label.split(" (")[0].lower()


FORMATS: dict[str, FileFormat] = {
    f.key: f
    for f in (
        FileFormat(
            "cell_counter",
            "Cell counter (NucleoCounter, Countess)",
            frozenset({"cell_counter"}),
            "a sample id, viable (live) cells and viability (%)",
        ),
        FileFormat(
            "flow_cytometry",
            "Flow cytometry summary (marker %)",
            frozenset({"flow_cytometer"}),
            "a sample id and marker percentages (CD73+ %Parent, HLA-DR Freq. of Parent (%) …)",
        ),
        FileFormat(
            "endotoxin",
            "Endotoxin reader (kinetic LAL)",
            frozenset({"endotoxin_reader"}),
            "a sample id and the result in EU/mL",
        ),
        FileFormat(
            "generic",
            "Generic CSV with a column mapping",
            frozenset(),
            "the columns the mapping names",
        ),
    )
}


class FileError(ValueError):
    """A file (or its mapping) that cannot be read as the format says; ``field`` is the form
    field to show the message beside."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# ---------------------------------------------------------------------------- decoding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(raw: bytes) -> str:
    """The file as text: UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode
    text"), or Windows-1252 (older instrument PCs). Binary files and control characters are
    refused: an instrument's CSV export holds neither."""
    if not raw.strip():
        raise FileError("the file is empty")
    if len(raw) > MAX_BYTES:
        raise FileError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FileError("the file starts as UTF-16 text but is not: export it again") from None
    else:
        if b"\x00" in raw:
            raise FileError(
                "this is not a text file (it holds NUL bytes): export the results as CSV"
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise FileError(
                    "the file is neither UTF-8 nor Windows-1252 text: export the results as CSV"
                ) from None
    if _CONTROL.search(text):
        raise FileError(
            "the file holds control characters, so it is not a CSV export: export the results "
            "as CSV (comma, semicolon or tab separated)"
        )
    return text


# ---------------------------------------------------------------------------- numbers

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']")
_THOUSANDS_POINT = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Number:
    value: float
    qualifier: str = ""  # "<" or ">" when the instrument reports a limit


def parse_number(text: str, decimal: str = ".") -> Number:
    """A number as an instrument writes it: ``85,4``, ``1,23E+06``, ``2 150 000``, ``<0.050``,
    ``85.4 %``. ``decimal`` is the file's decimal separator. Raises ValueError (the message says
    what was read)."""
    s = _SPACES.sub("", text)
    qualifier = ""
    if s and s[0] in "<>":
        qualifier, s = s[0], s[1:]
    if s.endswith("%"):
        s = s[:-1]
    if not s:
        raise ValueError(f"cannot read {text.strip()!r} as a number")
    if decimal == ",":
        if _THOUSANDS_POINT.match(s):
            s = s.replace(".", "")
        s = s.replace(",", ".")
    elif _THOUSANDS_COMMA.match(s):
        s = s.replace(",", "")
    if not _NUMBER.match(s):
        raise ValueError(f"cannot read {text.strip()!r} as a number")
    value = float(s)
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    return Number(value, qualifier)


def round_significant(value: float, digits: int = 10) -> float:
    """Products and quotients without floating-point dust (2.15e6 × 10.3 = 22145000.0)."""
    return float(f"{value:.{digits}g}")


# ---------------------------------------------------------------------------- units

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def unit_key(text: str) -> str:
    """A unit as people write it, in one spelling: ``x10^6 cells/ml``, ``×10⁶ cells/mL``,
    ``10E6 cells/mL`` and ``1e6 cells/mL`` are all ``10^6cells/ml``; ``µL`` is ``ul``."""
    s = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: "^" + m.group(0).translate(_SUPERSCRIPT), text)
    s = s.strip().lower()
    s = s.replace("µ", "u").replace("μ", "u").replace("×", "x").replace("*", "x")
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"^x?(?:10\^|10e|1e)(-?\d+)", r"10^\1", s)
    s = re.sub(r"^x(?=10\^)", "", s)
    s = re.sub(r"\bcell(?!s)", "cells", s)
    s = s.replace("percent", "%")
    return s


@dataclass(frozen=True)
class Conversion:
    factor: float  # to the test's unit
    per_ml: bool = False  # a concentration: times a volume in mL gives the test's unit


_COUNTS = {
    **{
        key: Conversion(factor)
        for key, factor in (
            ("cells", 1.0),
            ("10^4cells", 1e4),
            ("10^5cells", 1e5),
            ("10^6cells", 1e6),
            ("10^7cells", 1e7),
        )
    },
    **{
        key: Conversion(factor, per_ml=True)
        for key, factor in (
            ("cells/ml", 1.0),
            ("/ml", 1.0),
            ("10^4cells/ml", 1e4),
            ("10^5cells/ml", 1e5),
            ("10^6cells/ml", 1e6),
            ("10^6/ml", 1e6),
            ("10^7cells/ml", 1e7),
        )
    },
}
_PERCENT = {"%": Conversion(1.0), "fraction": Conversion(100.0)}
_ENDOTOXIN = {"eu/ml": Conversion(1.0), "iu/ml": Conversion(1.0)}
_PLATELETS = {
    "10^3/ul": Conversion(1.0),
    "10^9/l": Conversion(1.0),  # the same number: 10⁹ per litre is 10³ per µL
    "/ul": Conversion(0.001),
    "10^6/ml": Conversion(1.0),
}

# The units each test's results may come in, by ``unit_key``; the first is the test's own.
UNITS: dict[str, dict[str, Conversion]] = {
    "viable_cell_count": _COUNTS,
    "viability": _PERCENT,
    "endotoxin": _ENDOTOXIN,
    "platelet_count": _PLATELETS,
    **{marker: _PERCENT for marker in (*FLOW_POSITIVE, *FLOW_NEGATIVE)},
}
WORD_TESTS = tuple(key for key, test in TESTS.items() if not test.is_numeric)


def conversion(test: str, unit: str) -> Conversion:
    """How a number in ``unit`` becomes the test's own unit; ValueError naming the units the
    test takes when it is none of them."""
    if test in WORD_TESTS:
        if unit_key(unit):
            raise ValueError(f"{TESTS[test].name} is a word ({', '.join(TESTS[test].words)})")
        return Conversion(1.0)
    table = UNITS[test]
    if not unit.strip():
        if test == "viable_cell_count":  # cells, or cells per mL: a factor of the volume
            raise ValueError(
                f"{TESTS[test].name} does not say its unit; units: {', '.join(UNIT_NAMES[test])}"
            )
        return Conversion(1.0)
    found = table.get(unit_key(unit))
    if found is None:
        raise ValueError(
            f"{TESTS[test].name} is not read in {unit!r}; units: {', '.join(UNIT_NAMES[test])}"
        )
    return found


# Units as the mapping documentation and messages name them.
UNIT_NAMES: dict[str, tuple[str, ...]] = {
    "viable_cell_count": (
        "cells",
        "10^6 cells",
        "10^5 cells",
        "cells/mL",
        "10^6 cells/mL",
        "10^5 cells/mL",
    ),
    "viability": ("%", "fraction"),
    "endotoxin": ("EU/mL", "IU/mL"),
    "platelet_count": ("10^3/uL", "10^9/L", "/uL"),
    **{marker: ("%", "fraction") for marker in (*FLOW_POSITIVE, *FLOW_NEGATIVE)},
}


def split_header(header: str) -> tuple[str, str]:
    """``Viable cells (cells/ml)`` → (``viable cells``, ``cells/ml``): the name in lower case
    and the unit the header states in brackets, else after the last space when it has a
    ``/`` (``Live cells/mL`` → ``cells/mL``)."""
    text = " ".join(header.split())
    found = re.search(r"[(\[]([^()\[\]]*)[)\]]\s*$", text)
    if found:
        return text[: found.start()].strip().lower(), found.group(1).strip()
    words = text.split(" ")
    if len(words) > 1 and "/" in words[-1]:
        return text.lower(), words[-1]
    return text.lower(), ""


# ---------------------------------------------------------------------------- parsed rows


@dataclass(frozen=True)
class Cell:
    """One result read from one cell of the file."""

    column: int  # 1-based, as a spreadsheet counts
    header: str
    test: str
    raw: str  # as written in the file
    unit: str  # the unit the file gives it in ("" for words)
    value: float | str | None  # in the test's unit (a concentration: per mL); None: unreadable
    per_ml: bool = False  # times a volume in mL gives the test's unit
    note: str | None = None  # how it was read, when not as written
    problem: str | None = None  # why it cannot be recorded


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the file
    sample: str
    cells: tuple[Cell, ...]
    skip: str | None = None  # a row of the run that is no sample (a standard, a blank): why
    volume_ml: float | None = None  # the file's own volume for this sample
    problem: str | None = None  # a row no result of which can be recorded: why


@dataclass(frozen=True)
class ParsedFile:
    format: str
    header_line: int
    delimiter: str
    decimal: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    ignored: tuple[str, ...] = ()  # columns read past (other markers, dates, event counts)
    meta: tuple[tuple[str, str], ...] = ()  # the instrument's header lines, as key/value
    serial: str | None = None  # the instrument serial number the header names, if any
    lot: str | None = None  # the kit (cartridge, reagent) lot the header names, if any


# ---------------------------------------------------------------------------- layouts

_SAMPLE = re.compile(
    r"^(sample|sample ?(id|name|no\.?|number|code|barcode)|specimen|specimen ?(id|name)|"
    r"id|barcode|unit)$"
)


@dataclass
class Layout:
    """Which column is what: the sample id, each test, and helpers (volume, sample type,
    spike recovery); ``units``: the unit each test column's header states."""

    sample: int
    tests: dict[int, tuple[str, str]] = field(default_factory=dict)  # column → (test, unit)
    volume: int | None = None
    kind: int | None = None
    recovery: int | None = None
    ignored: list[int] = field(default_factory=list)


def _sample_column(headers: list[str]) -> int | None:
    names = [split_header(h)[0] for h in headers]
    for preferred in ("sample id", "sample name", "sample", "specimen name", "specimen"):
        if preferred in names:
            return names.index(preferred)
    return next((i for i, n in enumerate(names) if _SAMPLE.match(n)), None)


def _cell_counter(headers: list[str]) -> Layout | None:
    sample = _sample_column(headers)
    if sample is None:
        return None
    layout = Layout(sample)
    for i, header in enumerate(headers):
        if i == sample or not header.strip():
            continue
        name, unit = split_header(header)
        if name.startswith("viability"):
            layout.tests[i] = ("viability", unit or "%")
        elif re.match(r"^(viable|live)\b", name):
            if not unit:  # "Live cells/mL"; a bare "Live cells" says no unit
                rest = re.sub(r"^(viable|live)\s*", "", name)
                unit = rest if "/" in rest else ""
            layout.tests[i] = ("viable_cell_count", unit)
        elif re.match(r"^(sample )?vol(ume)?\b", name):
            layout.volume = i
        else:
            layout.ignored.append(i)
    if not layout.tests:
        return None
    return layout


_MARKER = re.compile(r"\b(?:cd\s?-?(\d+)|hla[\s-]?dr)\b")
_PERCENT_WORDS = re.compile(r"%|freq|percent|fraction of")


def _flow(headers: list[str]) -> Layout | None:
    sample = _sample_column(headers)
    if sample is None:
        return None
    layout = Layout(sample)
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        if i == sample or not header.strip():
            continue
        text = " ".join(header.lower().split())
        found = _MARKER.search(text)
        if not found or not _PERCENT_WORDS.search(text) or "#" in text:
            layout.ignored.append(i)
            continue
        key = f"cd{found.group(1)}" if found.group(1) else "hla_dr"
        if key not in TESTS:
            layout.ignored.append(i)
            continue
        if key in seen:
            raise FileError(
                f"two columns give {TESTS[key].name}: {headers[seen[key]]!r} and {header!r}; "
                "export one value per marker"
            )
        seen[key] = i
        layout.tests[i] = (key, "%")
    return layout if layout.tests else None


def _endotoxin(headers: list[str]) -> Layout | None:
    sample = _sample_column(headers)
    if sample is None:
        return None
    layout = Layout(sample)
    for i, header in enumerate(headers):
        if i == sample or not header.strip():
            continue
        name, unit = split_header(header)
        if re.match(r"^((sample|well) )?type$", name):
            layout.kind = i
        elif "recovery" in name:
            layout.recovery = i
        elif (
            re.match(r"^(sample )?(result|endotoxin|conc(entration)?|measured)\b", name)
            and unit_key(unit) in _ENDOTOXIN
            and "endotoxin" not in {t for t, _ in layout.tests.values()}
        ):
            layout.tests[i] = ("endotoxin", unit)
        else:
            layout.ignored.append(i)
    return layout if layout.tests else None


# ---------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class Mapping:
    """What the generic format needs: the sample id's column, and column → (test, unit)."""

    sample: str
    columns: tuple[tuple[str, str, str], ...]  # (column, test, unit)
    volume: str | None = None
    decimal: str | None = None  # None: as the file's numbers show

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sample": self.sample,
            "columns": {c: {"test": t, "unit": u} for c, t, u in self.columns},
        }
        if self.volume:
            out["volume"] = self.volume
        if self.decimal:
            out["decimal"] = self.decimal
        return out


MAPPING_EXAMPLE = (
    '{"sample": "Sample", "columns": {"Viab. %": "viability", '
    '"VCC (x10^6/mL)": {"test": "viable_cell_count", "unit": "10^6 cells/mL"}}}'
)


def _mapping_error(message: str) -> FileError:
    return FileError(message, field="mapping")


def _column_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 120:
        raise _mapping_error(f"{what} is a column name (text, at most 120 characters)")
    return " ".join(value.split())


def parse_mapping(text: str | None) -> Mapping:
    """The generic format's mapping, as JSON: ``{"sample": column, "columns": {column: test
    or {"test": test, "unit": unit}}, "volume": column, "decimal": "," or "."}``."""
    if text is None or not str(text).strip():
        raise _mapping_error(
            f"a generic file needs a mapping of its columns, e.g. {MAPPING_EXAMPLE}"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _mapping_error(f"the mapping is not JSON; e.g. {MAPPING_EXAMPLE}") from None
    if not isinstance(data, dict):
        raise _mapping_error(f"the mapping is a JSON object; e.g. {MAPPING_EXAMPLE}")
    unknown = set(data) - {"sample", "columns", "volume", "decimal"}
    if unknown:
        raise _mapping_error(
            f"the mapping does not know {', '.join(sorted(map(str, unknown)))}; "
            "it takes sample, columns, volume and decimal"
        )
    sample = _column_name(data.get("sample"), "'sample'")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise _mapping_error("'columns' maps at least one column to a QC test")
    if len(columns) > MAX_COLUMNS:
        raise _mapping_error(f"'columns' maps at most {MAX_COLUMNS} columns")
    mapped: list[tuple[str, str, str]] = []
    tests_seen: dict[str, str] = {}
    for column, target in columns.items():
        name = _column_name(column, "each key of 'columns'")
        if isinstance(target, str):
            test, unit = target, None
        elif isinstance(target, dict) and set(target) <= {"test", "unit"}:
            test, unit = target.get("test"), target.get("unit")
        else:
            raise _mapping_error(f'column {name!r}: a test key, or {{"test": key, "unit": unit}}')
        if not isinstance(test, str) or test.strip().lower().replace("-", "_") not in TESTS:
            raise _mapping_error(f"column {name!r}: unknown test; known: {', '.join(TESTS)}")
        test = test.strip().lower().replace("-", "_")
        if test in tests_seen:
            raise _mapping_error(f"columns {tests_seen[test]!r} and {name!r} both give {test}")
        tests_seen[test] = name
        if unit is None:
            unit = UNIT_NAMES[test][0] if test in UNIT_NAMES else ""
        if not isinstance(unit, str) or len(unit) > 40:
            raise _mapping_error(f"column {name!r}: the unit is text")
        try:
            conversion(test, unit)
        except ValueError as exc:
            raise _mapping_error(f"column {name!r}: {exc}") from None
        mapped.append((name, test, unit.strip()))
    volume = data.get("volume")
    if volume is not None:
        volume = _column_name(volume, "'volume'")
    decimal = data.get("decimal")
    if decimal not in (None, ",", "."):
        raise _mapping_error('\'decimal\' is "," or "."')
    return Mapping(sample, tuple(mapped), volume, decimal)


def _generic(mapping: Mapping) -> Callable[[list[str]], Layout | None]:
    def find(headers: list[str]) -> Layout | None:
        names = [" ".join(h.split()).casefold() for h in headers]
        if mapping.sample.casefold() not in names:
            return None
        layout = Layout(names.index(mapping.sample.casefold()))
        for column, test, unit in mapping.columns:
            if column.casefold() not in names:
                return None
            layout.tests[names.index(column.casefold())] = (test, unit)
        if mapping.volume:
            if mapping.volume.casefold() not in names:
                return None
            layout.volume = names.index(mapping.volume.casefold())
        used = {layout.sample, *layout.tests, layout.volume}
        layout.ignored = [i for i in range(len(headers)) if i not in used and headers[i].strip()]
        return layout

    return find


# ---------------------------------------------------------------------------- reading

DELIMITERS = (";", "\t", ",")
_NOT_SAMPLES = re.compile(
    r"^(std|standard|blank|blk|neg(ative)?( control)?|nc|pc|pos(itive)?( control)?|ppc|"
    r"spike|control|ctrl|calibrator|cal|lrw|water|qc|unstained|isotype|fmo)\b"
)
_SAMPLE_KINDS = re.compile(r"^(sample|smp|unknown|unk|test|product)\b")


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _find_table(
    lines: list[str], find: Callable[[list[str]], Layout | None]
) -> tuple[int, str, list[str], Layout]:
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            headers = [h.strip() for h in _split(line, delimiter)]
            if len(headers) < 2:
                continue
            layout = find(headers)
            if layout is not None:
                return index, delimiter, headers, layout
    raise LookupError


def _meta(lines: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The instrument's header lines as (key, value): ``Instrument: NC-200``,
    ``Serial number;1234``."""
    out = []
    for line in lines:
        text = line.strip().strip(";,\t")
        if not text:
            continue
        found = re.match(r"^([^:;,\t=]{1,60})\s*[:;,\t=]\s*(.*)$", text)
        if found:
            value = found.group(2).strip().strip(";,\t").strip().strip('"')
            out.append((found.group(1).strip().strip('"'), value[:200]))
        else:
            out.append(("", text[:200]))
    return tuple(out[:30])


def _lot(meta: tuple[tuple[str, str], ...]) -> str | None:
    for key, value in meta:
        if re.search(r"\blot\b", key, re.IGNORECASE) and value and len(value) <= 40:
            return value
    return None


def _serial(meta: tuple[tuple[str, str], ...]) -> str | None:
    for key, value in meta:
        if re.search(r"serial|\bs/?n\b", key, re.IGNORECASE) and value:
            return value
    return None


_ONE_COMMA = re.compile(r"^\d+,\d+(?:[eE][+-]?\d+)?%?$")
_ONE_POINT = re.compile(r"^\d*\.\d+(?:[eE][+-]?\d+)?%?$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3}){2,}(\.\d+)?$")
_GROUPED_POINT = re.compile(r"^\d{1,3}(\.\d{3}){2,}(,\d+)?$")


def _decimal(rows: list[list[str]], columns: Iterable[int], delimiter: str) -> str:
    """The file's decimal separator, from its result columns: a comma when its numbers show
    one (``85,4``, ``0,120``, ``1.234.567,8``) and none shows a decimal point. In a
    comma-separated file a comma inside a (quoted) number is taken for a thousands separator
    unless no number there has a point."""
    comma = point = 0
    wanted = list(columns)
    for row in rows[:500]:
        for i in wanted:
            if i >= len(row):
                continue
            text = _SPACES.sub("", row[i]).lstrip("<>")
            if _GROUPED_POINT.match(text):
                comma += 1
            elif _GROUPED_COMMA.match(text):
                point += 1
            elif _ONE_COMMA.match(text):
                comma += 1
            elif _ONE_POINT.match(text):
                point += 1
    return "," if comma and not point else "."


FINDERS: dict[str, Callable[[list[str]], Layout | None]] = {
    "cell_counter": _cell_counter,
    "flow_cytometry": _flow,
    "endotoxin": _endotoxin,
}


def parse(text: str, file_format: str, mapping: Mapping | None = None) -> ParsedFile:
    """Read ``text`` as ``file_format``: the table under the instrument's header lines, one
    :class:`Row` per data line with a :class:`Cell` per result. Raises :class:`FileError`
    when the file has no table of that format, or is too large."""
    fmt = FORMATS.get(file_format)
    if fmt is None:
        raise FileError(f"unknown format {file_format!r}; known: {', '.join(FORMATS)}", "format")
    if file_format == "generic":
        if mapping is None:
            raise _mapping_error("a generic file needs a mapping of its columns")
        find = _generic(mapping)
    else:
        if mapping is not None:
            raise _mapping_error("only a generic file takes a mapping")
        find = FINDERS[file_format]
    lines = text.splitlines()
    try:
        index, delimiter, headers, layout = _find_table(lines, find)
    except LookupError:
        if file_format == "generic":
            assert mapping is not None
            needed = [mapping.sample, *(c for c, _, _ in mapping.columns)]
            raise FileError(
                "no line of the file has the columns the mapping names: "
                + ", ".join(repr(c) for c in needed)
            ) from None
        raise FileError(
            f"this does not look like a {fmt.name} export: no line of the file has {fmt.hint}"
        ) from None
    if len(headers) > MAX_COLUMNS:
        raise FileError(f"the table has {len(headers)} columns; at most {MAX_COLUMNS}")
    for column, (test, unit) in layout.tests.items():
        try:
            conversion(test, unit)
        except ValueError as exc:
            raise FileError(f"column {headers[column]!r}: {exc}") from None
    body = "\n".join(lines[index + 1 :])
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            records.append((index + 1 + reader.line_num, record))
            if len(records) > MAX_ROWS:
                raise FileError(f"the file has more than {MAX_ROWS} rows; split it")
    except csv.Error as exc:
        raise FileError(f"line {index + 1 + reader.line_num}: {exc}") from None
    decimal = (mapping.decimal if mapping else None) or _decimal(
        [r for _, r in records],
        [*layout.tests, *(c for c in (layout.volume,) if c is not None)],
        delimiter,
    )
    rows = tuple(_row(line, record, headers, layout, decimal) for line, record in records)
    meta = _meta(lines[:index])
    return ParsedFile(
        format=file_format,
        header_line=index + 1,
        delimiter=delimiter,
        decimal=decimal,
        columns=tuple(headers),
        rows=rows,
        ignored=tuple(headers[i] for i in layout.ignored),
        meta=meta,
        serial=_serial(meta),
        lot=_lot(meta),
    )


def _at(record: list[str], column: int | None) -> str:
    if column is None or column >= len(record):
        return ""
    return record[column].strip()


def _row(line: int, record: list[str], headers: list[str], layout: Layout, decimal: str) -> Row:
    sample = _at(record, layout.sample)[:64]
    skip = None
    kind = _at(record, layout.kind).lower()
    if kind and not _SAMPLE_KINDS.match(kind):
        skip = f"a {_at(record, layout.kind)} of the run, not a sample"
    elif not kind and layout.kind is None and _NOT_SAMPLES.match(sample.lower()):
        skip = f"{sample!r} is a standard or control of the run, not a sample"
    problem = None
    if layout.recovery is not None and skip is None:
        problem = _recovery_problem(_at(record, layout.recovery), decimal)
    volume = None
    if layout.volume is not None and _at(record, layout.volume):
        try:
            number = parse_number(_at(record, layout.volume), decimal)
            volume = number.value if number.value > 0 and not number.qualifier else None
            if volume is None:
                problem = problem or f"the volume {_at(record, layout.volume)!r} is not a volume"
        except ValueError as exc:
            problem = problem or f"the volume: {exc}"
    cells = []
    for column, (test, unit) in sorted(layout.tests.items()):
        raw = _at(record, column)
        if not raw or raw in ("-", "--", "n/a", "N/A", "NA"):
            continue  # not measured
        cells.append(_cell(column, headers[column], test, unit, raw, decimal))
    if not cells and skip is None and problem is None:
        problem = "no result in this row"
    return Row(line, sample, tuple(cells), skip, volume, problem)


def _recovery_problem(text: str, decimal: str) -> str | None:
    if not text:
        return None
    try:
        recovery = parse_number(text, decimal).value
    except ValueError:
        return f"the spike recovery {text!r} cannot be read: no valid result"
    if not 50 <= recovery <= 200:
        return f"spike recovery {recovery:g} % is outside 50–200 %: the result is not valid"
    return None


def _cell(column: int, header: str, test: str, unit: str, raw: str, decimal: str) -> Cell:
    def refused(problem: str) -> Cell:
        return Cell(column + 1, header, test, raw[:40], unit, None, problem=problem)

    if test in WORD_TESTS:
        return Cell(column + 1, header, test, raw[:40], "", " ".join(raw.split())[:40])
    convert = conversion(test, unit)
    try:
        number = parse_number(raw, decimal)
    except ValueError as exc:
        return refused(str(exc))
    note = None
    if number.qualifier == ">":
        return refused(f"{raw} is above the instrument's range: dilute and measure again")
    if number.qualifier == "<":
        if test != "endotoxin":
            return refused(f"{raw} is a limit, not a result")
        note = f"{raw}: below the quantitation limit, recorded as the limit (an upper bound)"
    value = round_significant(number.value * convert.factor)
    if convert.factor != 1.0 and note is None:
        per = "/mL" if convert.per_ml else ""
        note = f"{raw} {unit} = {number_text(value)} {TESTS[test].unit}{per}"
    return Cell(column + 1, header, test, raw[:40], unit, value, convert.per_ml, note)
