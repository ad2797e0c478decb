"""What a scanned or typed code is: a unit (DIN, optionally with its product code and
division), a product code on its own, a patient wristband, or a location.

Bar-coded forms (keyboard-wedge scanners type them, then Enter):
- DIN: ``=`` + 13-character DIN + 2 flag digits carrying the check value (``identifiers``);
- product code and division: ``=<`` + 5-character product code + 2-character division
  (ISBT 128 practice: a separate barcode beside the DIN);
- both at once (the label's Data Matrix): the DIN code immediately followed by the product code;
- wristband: ``P`` + facility + 6 digits + check character;
- location: ``L`` + facility + 6 digits + check character;
- equipment (``E``) and reagent lot (``R``): the same shape with their own letter.
Typed forms: the DIN with its check character (spaces and dashes allowed), optionally followed
by product code and division, e.g. ``C0001 26 000005 H S2020 00``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .identifiers import (
    CodeError,
    ParsedDin,
    check_character,
    looks_like_chain_of_identity,
    parse_chain_of_identity,
    parse_din,
    parse_tagged,
    validate_facility_code,
)

PRODUCT_PREFIX = "=<"
_PRODUCT = re.compile(r"^[A-Z]\d{4}$")
_DIVISION = re.compile(r"^(00|[A-Z][0-9A-Z])$")


@dataclass(frozen=True)
class UnitCode:
    """A DIN, and when the code carried it, the product code and division of one unit."""

    din: ParsedDin
    product_code: str | None = None
    division: str | None = None


@dataclass(frozen=True)
class ProductCode:
    product_code: str
    division: str


@dataclass(frozen=True)
class WristbandCode:
    wristband: str


@dataclass(frozen=True)
class LocationCode:
    code: str


@dataclass(frozen=True)
class EquipmentCode:
    code: str


@dataclass(frozen=True)
class ReagentLotCode:
    code: str


Scanned = UnitCode | ProductCode | WristbandCode | LocationCode | EquipmentCode | ReagentLotCode

# Register codes: prefix + facility + 6 digits + check character (13 characters).
_TAGGED = {
    "P": ("wristband", WristbandCode),
    "L": ("location", LocationCode),
    "E": ("equipment", EquipmentCode),
    "R": ("reagent lot", ReagentLotCode),
}


def product_barcode_data(product_code: str, division: str) -> str:
    return f"{PRODUCT_PREFIX}{product_code}{division}"


def unit_datamatrix_data(din_barcode: str, product_code: str, division: str) -> str:
    """One 2-D code that names the unit exactly: the DIN code, then the product code."""
    return din_barcode + product_barcode_data(product_code, division)


def make_tagged_code(prefix: str, facility: str, sequence: int) -> str:
    """A register code: ``prefix`` + facility + 6-digit sequence + check character."""
    body = f"{prefix}{validate_facility_code(facility)}{sequence:06d}"
    return body + check_character(body)


def make_location_code(facility: str, sequence: int) -> str:
    return make_tagged_code("L", facility, sequence)


def make_equipment_code(facility: str, sequence: int) -> str:
    return make_tagged_code("E", facility, sequence)


def make_reagent_lot_code(facility: str, sequence: int) -> str:
    return make_tagged_code("R", facility, sequence)


def _product(text: str) -> ProductCode:
    body = text[len(PRODUCT_PREFIX) :].upper()
    if len(body) != 7:
        raise CodeError(
            f"a product code barcode is '=<' + 5-character product code + 2-character "
            f"division; this one has {len(body)} characters after '=<'",
            code="wrong_length",
        )
    code, division = body[:5], body[5:]
    if not _PRODUCT.match(code):
        raise CodeError(f"product code {code!r} must be a letter and 4 digits", code="bad_product")
    if not _DIVISION.match(division):
        raise CodeError(f"division {division!r} must be 00, A0, B0 …", code="bad_division")
    return ProductCode(code, division)


def classify(text: object) -> Scanned:
    """Say what a scanned or typed code is, or raise :class:`CodeError` saying what is wrong."""
    if not isinstance(text, str):
        raise CodeError("a code is text", code="not_text")
    raw = text.strip()
    if not raw:
        raise CodeError("no code was scanned or typed", code="empty")
    if len(raw) > 64:
        raise CodeError("a code is at most 64 characters", code="too_long")
    if raw.startswith(PRODUCT_PREFIX):
        return _product(raw)
    if raw.startswith("="):
        din_part, sep, product_part = raw.partition(PRODUCT_PREFIX)
        din = parse_din(din_part)
        if not sep:
            return UnitCode(din)
        product = _product(PRODUCT_PREFIX + product_part)
        return UnitCode(din, product.product_code, product.division)
    cleaned = re.sub(r"[\s\-]", "", raw).upper()
    if looks_like_chain_of_identity(cleaned):
        course = parse_chain_of_identity(cleaned)
        raise CodeError(
            f"{course} is the chain-of-identity identifier of a therapy course: it names every "
            "unit of the course, not one. Scan the unit's DIN barcode, or search the units list "
            "for the course",
            code="chain_of_identity",
        )
    if cleaned[:1] in _TAGGED and len(cleaned) == 13:
        # Wristband, location, equipment and reagent-lot codes have 13 characters; a DIN
        # typed with its check character has 14, so they cannot be confused.
        kind, make = _TAGGED[cleaned[0]]
        return make(parse_tagged(cleaned, cleaned[0], kind))
    if len(cleaned) == 21:  # DIN + check (14) + product code (5) + division (2), typed
        din = parse_din(cleaned[:14])
        product = _product(PRODUCT_PREFIX + cleaned[14:])
        return UnitCode(din, product.product_code, product.division)
    return UnitCode(parse_din(raw))


def is_register_code(text: object, kind: type) -> bool:
    """Does ``text`` look like a code of this kind (its letter and length)? A well-formed one
    is then looked up, and a mistyped one refused, by the caller."""
    if not isinstance(text, str):
        return False
    cleaned = re.sub(r"[\s\-]", "", text).upper()
    prefix = next((p for p, (_, made) in _TAGGED.items() if made is kind), None)
    return prefix is not None and len(cleaned) == 13 and cleaned[0] == prefix


def describe(scanned: Scanned) -> str:
    return {
        UnitCode: "unit",
        ProductCode: "product code",
        WristbandCode: "patient wristband",
        LocationCode: "location",
        EquipmentCode: "equipment",
        ReagentLotCode: "reagent lot",
    }[type(scanned)]
