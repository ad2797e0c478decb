"""The file readers on their own (``domain.instrument_files``, no database): numbers as
instruments write them, units, encodings, where the table starts, and the mapping."""

from __future__ import annotations

import codecs

import pytest

from lims.domain import instrument_files as files
from lims.domain.instrument_files import FileError, parse, parse_mapping, parse_number


@pytest.mark.parametrize(
    ("text", "decimal", "value", "qualifier"),
    [
        ("85,4", ",", 85.4, ""),
        ("85.4", ".", 85.4, ""),
        ("1,23E+06", ",", 1_230_000, ""),
        ("1.23e6", ".", 1_230_000, ""),
        ("2 150 000", ".", 2_150_000, ""),
        ("2\u202f150\u202f000", ",", 2_150_000, ""),  # narrow no-break spaces
        ("2,150,000", ".", 2_150_000, ""),
        ("2.150.000,5", ",", 2_150_000.5, ""),
        ("<0,050", ",", 0.05, "<"),
        (">5.0", ".", 5.0, ">"),
        ("87.4 %", ".", 87.4, ""),
        ("0", ".", 0, ""),
    ],
)
def test_numbers_as_instruments_write_them(text, decimal, value, qualifier):
    number = parse_number(text, decimal)
    assert number.value == pytest.approx(value) and number.qualifier == qualifier


@pytest.mark.parametrize("text", ["ERR", "####", "1,2,3", "", "--", "1e999", "nan", "inf", "-5"])
def test_what_is_no_number(text):
    with pytest.raises(ValueError):
        parse_number(text, ".")


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("x10^6 cells/ml", "10^6cells/ml"),
        ("×10⁶ cells/mL", "10^6cells/ml"),
        ("10E6 cells/mL", "10^6cells/ml"),
        ("1e6 cells/mL", "10^6cells/ml"),
        ("cell/mL", "cells/ml"),
        ("10^3/µL", "10^3/ul"),
        ("EU/mL", "eu/ml"),
    ],
)
def test_units_in_one_spelling(written, key):
    assert files.unit_key(written) == key


def test_conversions_to_each_tests_unit():
    assert files.conversion("viable_cell_count", "10^6 cells/mL") == files.Conversion(1e6, True)
    assert files.conversion("viable_cell_count", "cells") == files.Conversion(1.0)
    assert files.conversion("viability", "fraction").factor == 100
    assert files.conversion("platelet_count", "10^9/L").factor == 1
    assert files.conversion("platelet_count", "/uL").factor == 0.001
    assert files.conversion("cd73", "").factor == 1  # a percentage without its sign
    with pytest.raises(ValueError, match="not read in 'mg'"):
        files.conversion("endotoxin", "mg")
    with pytest.raises(ValueError, match="does not say its unit"):
        files.conversion("viable_cell_count", "")


def test_encodings_an_instrument_pc_writes():
    text = "Sample ID;Viability (%)\r\n"
    assert files.decode(text.encode("utf-8-sig")) == text
    assert files.decode(codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == text
    assert files.decode("Probe;Vitalität\n".encode("cp1252")) == "Probe;Vitalität\n"
    for bad in (b"", b"   \n", b"a\x00b", b"ok;\x07bell\n"):
        with pytest.raises(FileError):
            files.decode(bad)


COUNTER = """Instrument;NucleoCounter NC-200
Serial number;NC200-1
Kit lot;VIA1-7

Sample ID;Viable cells (x10^6 cells/ml);Viability (%);Volume (ml)
"A;B";1,5;90,0;2
X;;88,1;
STD 1;1;1;1
"""


def test_the_table_under_the_header_lines():
    parsed = parse(COUNTER, "cell_counter")

    assert parsed.header_line == 5 and parsed.delimiter == ";" and parsed.decimal == ","
    assert parsed.serial == "NC200-1" and parsed.lot == "VIA1-7"
    assert ("Instrument", "NucleoCounter NC-200") in parsed.meta
    first, second, standard = parsed.rows
    assert (first.line, first.sample, first.volume_ml) == (6, "A;B", 2.0)
    count, viability = first.cells
    assert (count.column, count.test, count.value, count.per_ml) == (
        2,
        "viable_cell_count",
        1.5e6,
        True,
    )
    assert count.note == "1,5 x10^6 cells/ml = 1.5×10⁶ cells/mL"
    assert (viability.column, viability.value) == (3, 90.0)
    assert [c.test for c in second.cells] == ["viability"]  # an empty cell: not measured
    assert standard.skip and "standard or control" in standard.skip


def test_a_file_too_long_or_too_wide_is_refused(monkeypatch):
    monkeypatch.setattr(files, "MAX_ROWS", 2)
    with pytest.raises(FileError, match="more than 2 rows"):
        parse("Sample,Viability (%)\na,1\nb,2\nc,3\n", "cell_counter")
    wide = "Sample,Viability (%)," + ",".join(f"c{i}" for i in range(250)) + "\n"
    with pytest.raises(FileError, match="columns"):
        parse(wide, "cell_counter")


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (None, "needs a mapping"),
        ("[1]", "a JSON object"),
        ('{"sample": "S", "columns": {}}', "at least one column"),
        ('{"sample": "S", "columns": {"A": "viability"}, "extra": 1}', "does not know extra"),
        ('{"sample": "S", "columns": {"A": "viability", "B": "viability"}}', "both give"),
        (
            '{"sample": "S", "columns": {"A": {"test": "viability", "unit": "cells"}}}',
            "not read in",
        ),
        ('{"sample": "S", "columns": {"A": "viability"}, "decimal": ";"}', "'decimal'"),
        ('{"sample": 5, "columns": {"A": "viability"}}', "'sample' is a column name"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(mapping, words):
    with pytest.raises(FileError) as refused:
        parse_mapping(mapping)

    assert refused.value.field == "mapping" and words in refused.value.message


def test_a_mapping_with_units_and_a_volume():
    mapping = parse_mapping(
        '{"sample": "Probe", "columns": {"VCC": {"test": "viable_cell_count", "unit": '
        '"10^6 cells/mL"}, "Myco": "mycoplasma"}, "volume": "Vol", "decimal": ","}'
    )
    parsed = parse("Probe;VCC;Myco;Vol\nS1;2,5;Negative;4\n", "generic", mapping)

    (row,) = parsed.rows
    assert row.volume_ml == 4.0
    count, myco = row.cells
    assert count.value == 2.5e6 and count.per_ml
    assert myco.value == "Negative" and myco.test == "mycoplasma"
