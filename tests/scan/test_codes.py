"""What a scanned or typed code is (``lims.domain.codes``): pure domain, no database."""

from __future__ import annotations

import pytest

from lims.domain.codes import (
    LocationCode,
    ProductCode,
    UnitCode,
    WristbandCode,
    classify,
    make_location_code,
    unit_datamatrix_data,
)
from lims.domain.identifiers import CodeError, barcode_data, check_character, make_wristband

DIN = "T000126000005"
CHECK = check_character(DIN)


@pytest.mark.parametrize(
    "text",
    [
        barcode_data(DIN),
        DIN + CHECK,
        f"T0001 26 000005 {CHECK}",
        (DIN + CHECK).lower(),
        f"  {barcode_data(DIN)}\n",
    ],
    ids=["barcode", "typed", "typed with spaces", "lower case", "padded"],
)
def test_a_din_in_any_accepted_form_is_a_unit_code(text):
    scanned = classify(text)
    assert isinstance(scanned, UnitCode)
    assert (scanned.din.din, scanned.product_code) == (DIN, None)


@pytest.mark.parametrize(
    "text",
    [unit_datamatrix_data(barcode_data(DIN), "S2020", "00"), f"{DIN}{CHECK} S2020 00"],
    ids=["2-D code", "typed"],
)
def test_a_din_with_its_product_code_names_one_unit(text):
    scanned = classify(text)
    assert isinstance(scanned, UnitCode)
    assert (scanned.din.din, scanned.product_code, scanned.division) == (DIN, "S2020", "00")


def test_the_product_code_barcode_alone_is_a_product_code():
    assert classify("=<S201000") == ProductCode("S2010", "00")


def test_wristband_and_location_codes_are_told_apart():
    wristband = make_wristband("T0001", 7)
    location = make_location_code("T0001", 7)
    assert classify(wristband) == WristbandCode(wristband)
    assert classify(location) == LocationCode(location)
    assert classify(location.lower()) == LocationCode(location)


def test_the_published_check_character_vector():
    assert check_character("G123417654321") == "A"


def _with_wrong_check(code: str) -> tuple[str, str]:
    wrong = "0" if code[-1] != "0" else "1"
    return code[:-1] + wrong, code[-1]


@pytest.mark.parametrize("kind", ["din", "wristband", "location"])
def test_a_wrong_check_character_names_the_expected_one(kind):
    good = {
        "din": DIN + CHECK,
        "wristband": make_wristband("T0001", 3),
        "location": make_location_code("T0001", 3),
    }[kind]
    bad, expected = _with_wrong_check(good)
    with pytest.raises(CodeError) as refused:
        classify(bad)
    assert refused.value.code == "bad_check_character"
    assert f"expected '{expected}'" in refused.value.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "not_text"),
        (42, "not_text"),
        ("X" * 65, "too_long"),
        ("=<S2010", "wrong_length"),
        ("=<12345AB", "bad_product"),
        ("=<S2010!!", "bad_division"),
    ],
)
def test_unreadable_codes_say_what_is_wrong(text, code):
    with pytest.raises(CodeError) as refused:
        classify(text)
    assert refused.value.code == code
    assert refused.value.message


@pytest.mark.parametrize("scanned", ["&/CHT000126000042", "CHT0001 26 000042"])
def test_a_course_identifier_scanned_at_the_station_says_it_names_a_course(scanned):
    with pytest.raises(CodeError) as refused:
        classify(scanned)
    assert refused.value.code == "chain_of_identity"
    assert refused.value.message.startswith("CHT000126000042 is the chain-of-identity identifier")
