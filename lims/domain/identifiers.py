"""ISBT 128 style identifiers: the Donation Identification Number (DIN) and its check character.

A DIN is ``FFFFFYYNNNNNN``: a 5-character facility identification number, a 2-digit
year and a 6-digit sequence. Its check character is ISO 7064 Mod 37-2 over those 13
characters. The bar-coded form is ``=`` + DIN + two flag characters; we use the ISBT 128
flag type that carries the check value (``60`` + value), so a scan can be verified too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
DIN_LENGTH = 13
FLAG_OFFSET = 60
# Records (units, patients, users …) are numbered by 32-bit integer ids: a larger number names none.
MAX_ID = 2**31 - 1


class CodeError(ValueError):
    """A scanned or typed code that is not a valid identifier; the message says why."""

    def __init__(self, message: str, *, code: str = "invalid_code") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_character(data: str) -> str:
    """ISO 7064 Mod 37-2 check character over ``data`` (characters 0-9, A-Z, *)."""
    total = 0
    for position, ch in enumerate(data.upper(), start=1):
        if ch not in _VALUE:
            raise CodeError(f"character {ch!r} at position {position} is not allowed (0-9, A-Z)")
        total = ((total + _VALUE[ch]) * 2) % 37
    return ALPHABET[(38 - total) % 37]


def check_value(data: str) -> int:
    return _VALUE[check_character(data)]


def validate_facility_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{5}", code):
        raise CodeError(f"facility code {code!r} must be 5 characters, A-Z and 0-9")
    return code


def make_din(facility: str, year: int, sequence: int) -> str:
    facility = validate_facility_code(facility)
    if not 0 <= sequence <= 999_999:
        raise ValueError(f"sequence {sequence} is outside 0..999999 for one facility and year")
    return f"{facility}{year % 100:02d}{sequence:06d}"


def barcode_data(din: str) -> str:
    """The data encoded in the unit's DIN barcode: ``=`` + DIN + check-value flags."""
    return f"={din}{FLAG_OFFSET + check_value(din):02d}"


def eye_readable(din: str) -> str:
    """How the DIN is printed for people: facility, year, sequence, then the check character."""
    return f"{din[:5]} {din[5:7]} {din[7:]} {check_character(din)}"


@dataclass(frozen=True)
class ParsedDin:
    din: str
    check_character: str
    source: str  # "barcode" or "typed"

    @property
    def facility(self) -> str:
        return self.din[:5]

    @property
    def year(self) -> int:
        return int(self.din[5:7])

    @property
    def sequence(self) -> int:
        return int(self.din[7:])


def _validate_din_body(din: str) -> None:
    if len(din) != DIN_LENGTH:
        raise CodeError(
            f"an identifier has {DIN_LENGTH} characters before its check character; "
            f"this one has {len(din)}",
            code="wrong_length",
        )
    for position, ch in enumerate(din, start=1):
        if ch not in _VALUE or ch == "*":
            raise CodeError(
                f"character {ch!r} at position {position} is not allowed (0-9, A-Z)",
                code="bad_character",
            )
    if not din[5:].isdigit():
        bad = next(i for i, ch in enumerate(din[5:], start=6) if not ch.isdigit())
        raise CodeError(
            f"positions 6-13 (year and sequence) must be digits; position {bad} is {din[bad - 1]!r}",
            code="bad_character",
        )


def parse_din(text: str) -> ParsedDin:
    """Validate a scanned (``=DIN`` + flags) or typed (DIN + check character) identifier.

    Spaces and dashes that people type between groups are ignored. Every failure raises
    :class:`CodeError` saying precisely what is wrong.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise CodeError("no code was scanned or typed", code="empty")
    if raw.startswith("="):
        body = raw[1:]
        if len(body) != DIN_LENGTH + 2:
            raise CodeError(
                f"a scanned identifier is '=' followed by {DIN_LENGTH} characters and 2 flag "
                f"digits; this one has {len(body)} characters after '='",
                code="wrong_length",
            )
        din, flags = body[:DIN_LENGTH].upper(), body[DIN_LENGTH:]
        _validate_din_body(din)
        if not (flags.isascii() and flags.isdigit()):
            raise CodeError(f"flag characters {flags!r} must be two digits", code="bad_flags")
        expected = check_character(din)
        value = int(flags)
        if not FLAG_OFFSET <= value <= FLAG_OFFSET + 36:
            # Our labels always carry the check value; a code without it cannot be verified.
            raise CodeError(
                f"flag characters {flags} carry no check value (expected "
                f"{FLAG_OFFSET + _VALUE[expected]} for {din}): scan the unit's own label",
                code="bad_flags",
            )
        if value - FLAG_OFFSET != _VALUE[expected]:
            raise CodeError(
                f"check flags {flags} do not match identifier {din} (expected "
                f"{FLAG_OFFSET + _VALUE[expected]}): the label may be damaged or misprinted",
                code="bad_check_character",
            )
        return ParsedDin(din=din, check_character=expected, source="barcode")
    cleaned = re.sub(r"[\s\-]", "", raw).upper()
    if len(cleaned) == DIN_LENGTH:
        _validate_din_body(cleaned)
        raise CodeError(
            f"identifier {cleaned} is missing its check character (expected "
            f"{check_character(cleaned)!r}); type the boxed character too",
            code="missing_check_character",
        )
    if len(cleaned) != DIN_LENGTH + 1:
        raise CodeError(
            f"a typed identifier has {DIN_LENGTH} characters plus a check character; "
            f"this one has {len(cleaned)}",
            code="wrong_length",
        )
    din, given = cleaned[:DIN_LENGTH], cleaned[DIN_LENGTH]
    _validate_din_body(din)
    expected = check_character(din)
    if given != expected:
        raise CodeError(
            f"check character {given!r} is wrong for {din}: expected {expected!r}. "
            "Re-read the label or scan the barcode",
            code="bad_check_character",
        )
    return ParsedDin(din=din, check_character=expected, source="typed")


def make_wristband(facility: str, sequence: int) -> str:
    """A patient wristband identifier: ``P`` + facility + 6-digit sequence + check character.

    It carries no name or record number (21 CFR 1271.290).
    """
    body = f"P{validate_facility_code(facility)}{sequence:06d}"
    return body + check_character(body)


TAGGED_LENGTH = 13  # P/L + facility (5) + sequence (6) + check character


def parse_tagged(text: str, prefix: str, kind: str) -> str:
    """Validate a wristband (``P``) or location (``L``) code: prefix + facility + 6 digits +
    check character. Every failure says precisely what is wrong."""
    cleaned = re.sub(r"[\s\-]", "", text).upper() if isinstance(text, str) else ""
    if not cleaned:
        raise CodeError(f"no {kind} code was scanned or typed", code="empty")
    if len(cleaned) != TAGGED_LENGTH:
        raise CodeError(
            f"a {kind} code is {prefix} + 5-character facility + 6 digits + check character "
            f"({TAGGED_LENGTH} characters); this one has {len(cleaned)}",
            code="wrong_length",
        )
    if cleaned[0] != prefix:
        raise CodeError(
            f"a {kind} code starts with {prefix}; this one starts with {cleaned[0]!r}",
            code="wrong_format",
        )
    for position, ch in enumerate(cleaned, start=1):
        allowed = _VALUE if position == TAGGED_LENGTH else _VALUE.keys() - {"*"}
        digit_only = 7 <= position <= 12
        if ch not in allowed or (digit_only and not ch.isdigit()):
            rule = "0-9" if digit_only else "0-9, A-Z"
            raise CodeError(
                f"character {ch!r} at position {position} is not allowed ({rule})",
                code="bad_character",
            )
    expected = check_character(cleaned[:-1])
    if cleaned[-1] != expected:
        raise CodeError(
            f"{kind} check character {cleaned[-1]!r} is wrong: expected {expected!r}",
            code="bad_check_character",
        )
    return cleaned


def parse_wristband(text: str) -> str:
    """Validate a scanned or typed wristband code; every failure says precisely what is wrong."""
    return parse_tagged(text, "P", "wristband")


# ---------------------------------------------------------------------------- chain of identity

# ISBT 128 ST-028: one identifier per therapy course, ``CH`` + facility (5) + 2-digit year + a
# 6-character sequence; bar-coded behind the data identifier ``&/``.
COI_PREFIX = "CH"
COI_DATA_IDENTIFIER = "&/"
COI_LENGTH = 15
_COI = re.compile(r"CH[A-Z0-9]{5}[0-9]{2}[A-Z0-9]{6}")


def make_chain_of_identity(facility: str, year: int, sequence: int) -> str:
    """A therapy course's chain-of-identity identifier: ``CH`` + facility + yy + 6 digits."""
    facility = validate_facility_code(facility)
    if not 1 <= sequence <= 999_999:
        raise ValueError(f"sequence {sequence} is outside 1..999999 for one facility and year")
    return f"{COI_PREFIX}{facility}{year % 100:02d}{sequence:06d}"


def coi_barcode_data(code: str) -> str:
    """What the course's barcode encodes: the data identifier ``&/`` and the identifier."""
    return COI_DATA_IDENTIFIER + code


def parse_chain_of_identity(text: object) -> str:
    """A scanned (``&/`` + identifier) or typed chain-of-identity identifier, or ``CodeError``
    saying what is wrong. Spaces and hyphens typed between groups are ignored."""
    cleaned = re.sub(r"[\s\-]", "", text).upper() if isinstance(text, str) else ""
    if cleaned.startswith(COI_DATA_IDENTIFIER):
        cleaned = cleaned[len(COI_DATA_IDENTIFIER) :]
    if not cleaned:
        raise CodeError("no chain-of-identity identifier was scanned or typed", code="empty")
    if len(cleaned) != COI_LENGTH:
        raise CodeError(
            "a chain-of-identity identifier is CH + 5-character facility + 2-digit year + "
            f"6 characters ({COI_LENGTH} characters); this one has {len(cleaned)}",
            code="wrong_length",
        )
    if not _COI.fullmatch(cleaned):
        raise CodeError(
            "a chain-of-identity identifier is CH + 5-character facility (A-Z, 0-9) + 2-digit "
            f"year + 6 characters (A-Z, 0-9); {cleaned!r} is not",
            code="wrong_format",
        )
    return cleaned


def looks_like_chain_of_identity(text: str) -> bool:
    """Whether a search text is a chain-of-identity identifier (with or without ``&/``)."""
    try:
        parse_chain_of_identity(text)
    except CodeError:
        return False
    return True
