"""Identifiers as docs/product.md §2: ISO 7064 Mod 37-2, the DIN, its bar-coded and typed forms,
and wristbands. Pure domain: no app, no database."""

from __future__ import annotations

import pytest

from lims.domain.identifiers import (
    ALPHABET,
    CodeError,
    barcode_data,
    check_character,
    eye_readable,
    make_din,
    make_wristband,
    parse_din,
    parse_wristband,
)

# A few valid DINs of different shapes; every property below is checked over all of them.
DINS = ["T000126000001", "C000125123456", "A1B2C99999999", "G123417654321", "ZZZZZ00000000"]
DIN_CHARACTERS = ALPHABET.replace("*", "")


def typed(din: str) -> str:
    return din + check_character(din)


# ---------------------------------------------------------------------------- ISO 7064 Mod 37-2


@pytest.mark.req("I-1")
def test_published_example_has_check_character_a():
    assert check_character("G123417654321") == "A"


def test_check_character_ignores_letter_case():
    assert check_character("g123417654321") == "A"


def test_a_din_whose_check_value_is_36_is_typed_with_a_star():
    din = next(make_din("T0001", 26, n) for n in range(1000) if check_value_of(n) == 36)
    assert parse_din(din + "*").check_character == "*"
    assert barcode_data(din).endswith("96")


def check_value_of(sequence: int) -> int:
    return ALPHABET.index(check_character(make_din("T0001", 26, sequence)))


@pytest.mark.req("I-1")
@pytest.mark.parametrize("din", DINS)
def test_every_single_character_substitution_is_detected(din):
    for position, original in enumerate(din):
        for replacement in DIN_CHARACTERS:
            if replacement == original:
                continue
            changed = din[:position] + replacement + din[position + 1 :]
            assert check_character(changed) != check_character(din), (position, replacement)


@pytest.mark.parametrize("din", DINS)
def test_every_adjacent_transposition_is_detected(din):
    for position in range(len(din) - 1):
        a, b = din[position], din[position + 1]
        if a == b:
            continue
        swapped = din[:position] + b + a + din[position + 2 :]
        assert check_character(swapped) != check_character(din), position


# ---------------------------------------------------------------------------- making identifiers


@pytest.mark.req("T-2", "I-1")
def test_din_is_facility_two_digit_year_and_six_digit_sequence():
    assert make_din("T0001", 2026, 42) == "T000126000042"


@pytest.mark.parametrize("sequence", [-1, 1_000_000])
def test_sequence_outside_six_digits_is_refused(sequence):
    with pytest.raises(ValueError, match="sequence"):
        make_din("T0001", 2026, sequence)


@pytest.mark.parametrize("facility", ["T001", "T00011", "T-001", ""])
def test_facility_code_must_be_five_letters_or_digits(facility):
    with pytest.raises(CodeError, match="facility code"):
        make_din(facility, 2026, 1)


@pytest.mark.req("I-1")
def test_barcode_data_is_equals_din_and_check_value_flags():
    din = "G123417654321"  # check character A = value 10
    assert barcode_data(din) == "=G12341765432170"


def test_eye_readable_groups_facility_year_sequence_and_check():
    assert eye_readable("G123417654321") == "G1234 17 654321 A"


# ---------------------------------------------------------------------------- parsing a DIN


@pytest.mark.parametrize("din", DINS)
def test_bar_coded_form_is_accepted(din):
    parsed = parse_din(barcode_data(din))
    assert (parsed.din, parsed.check_character, parsed.source) == (
        din,
        check_character(din),
        "barcode",
    )


@pytest.mark.parametrize(
    "text",
    [
        "T000126000001{c}",
        "t000126000001{c}",
        "T0001 26 000001 {c}",
        "T0001-26-000001-{c}",
        "  T0001 26 000001 {c}\n",
    ],
)
def test_typed_form_is_accepted_with_spaces_dashes_and_lower_case(text):
    parsed = parse_din(text.format(c=check_character("T000126000001")))
    assert (parsed.din, parsed.source) == ("T000126000001", "typed")
    assert (parsed.facility, parsed.year, parsed.sequence) == ("T0001", 26, 1)


GOOD = "T000126000001"
GOOD_CHECK = check_character(GOOD)
GOOD_FLAGS = f"{60 + ALPHABET.index(GOOD_CHECK)}"
WRONG_CHECK = next(c for c in ALPHABET if c != GOOD_CHECK)


@pytest.mark.req("I-1")
@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "empty", "no code"),
        ("   ", "empty", "no code"),
        ("T00012600001", "wrong_length", "this one has 12"),
        ("T0001260000011X", "wrong_length", "this one has 15"),
        ("=T0001260000016", "wrong_length", "this one has 14 characters after '='"),
        ("T0#0126000001" + GOOD_CHECK, "bad_character", "'#' at position 3"),
        ("T00012600A001" + GOOD_CHECK, "bad_character", "position 10 is 'A'"),
        ("T0*0126000001" + GOOD_CHECK, "bad_character", "'*' at position 3"),
        (GOOD, "missing_check_character", f"expected {GOOD_CHECK!r}"),
        ("T0001 26 000001", "missing_check_character", f"expected {GOOD_CHECK!r}"),
        ("T0#0126000001", "bad_character", "'#' at position 3"),
        (GOOD + WRONG_CHECK, "bad_check_character", f"expected {GOOD_CHECK!r}"),
        ("=" + GOOD + "6X", "bad_flags", "must be two digits"),
        ("=" + GOOD + "00", "bad_flags", f"expected {GOOD_FLAGS}"),
        ("=" + GOOD + "97", "bad_flags", "carry no check value"),
        (
            "=" + GOOD + f"{60 + ALPHABET.index(WRONG_CHECK)}",
            "bad_check_character",
            f"expected {GOOD_FLAGS}",
        ),
        ("=T0#0126000001" + GOOD_FLAGS, "bad_character", "'#' at position 3"),
    ],
)
def test_bad_codes_are_refused_with_a_precise_message(text, code, message):
    with pytest.raises(CodeError) as refused:
        parse_din(text)
    assert refused.value.code == code
    assert message in refused.value.message


@pytest.mark.parametrize("value", [None, 123, ["T000126000001"]])
def test_a_code_that_is_not_text_is_refused_not_crashed(value):
    with pytest.raises(CodeError):
        parse_din(value)


# ---------------------------------------------------------------------------- wristbands


@pytest.mark.req("T-2")
def test_wristband_is_p_facility_sequence_and_check_character():
    band = make_wristband("T0001", 7)
    assert band[:-1] == "PT0001000007"
    assert band[-1] == check_character("PT0001000007")
    assert parse_wristband(band) == band


def test_wristband_typed_with_spaces_and_lower_case_is_accepted():
    band = make_wristband("T0001", 7)
    assert parse_wristband(f" {band[:6].lower()} {band[6:12]}-{band[12]} ") == band


BAND = make_wristband("T0001", 7)
BAND_WRONG = next(c for c in ALPHABET if c != BAND[-1])


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "empty", "no wristband"),
        (BAND[:-1], "wrong_length", "this one has 12"),
        (BAND + "1", "wrong_length", "this one has 14"),
        ("X" + BAND[1:], "wrong_format", "starts with 'X'"),
        (BAND[:2] + "#" + BAND[3:], "bad_character", "'#' at position 3"),
        (BAND[:8] + "A" + BAND[9:], "bad_character", "'A' at position 9"),
        (BAND[:-1] + BAND_WRONG, "bad_check_character", f"expected {BAND[-1]!r}"),
    ],
)
def test_bad_wristbands_are_refused_with_a_precise_message(text, code, message):
    with pytest.raises(CodeError) as refused:
        parse_wristband(text)
    assert refused.value.code == code
    assert message in refused.value.message


@pytest.mark.parametrize("position", range(len(BAND)))
def test_any_substituted_wristband_character_is_caught(position):
    allowed = "0123456789" if 6 <= position <= 11 else DIN_CHARACTERS
    for replacement in allowed:
        if position == 0 or replacement == BAND[position]:
            continue
        with pytest.raises(CodeError):
            parse_wristband(BAND[:position] + replacement + BAND[position + 1 :])
