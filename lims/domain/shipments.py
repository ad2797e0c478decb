"""Shipments between sites, as data: the shipping conditions (each with the temperature range
a shipment must arrive in), a shipment's statuses and what a receiver may find for an item.
Words and rules only; no Flask, no database (decision 102)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Condition:
    key: str
    label: str
    low_c: float
    high_c: float

    def contains(self, temperature_c: float) -> bool:
        return self.low_c <= temperature_c <= self.high_c

    @property
    def range_text(self) -> str:
        return f"{self.low_c:g} to {self.high_c:g} °C"


CONDITIONS: dict[str, Condition] = {
    c.key: c
    for c in (
        Condition("refrigerated", "Refrigerated, 2–8 °C", 2, 8),
        Condition("ambient", "Controlled room temperature, 15–25 °C", 15, 25),
        Condition("dry_ice", "Frozen on dry ice, −100 to −60 °C", -100, -60),
        Condition("dry_shipper", "Cryogenic dry shipper, −196 to −150 °C", -196, -150),
    )
}


class ShipmentStatus(StrEnum):
    PREPARING = "preparing"  # being packed: units are scanned in or taken out
    DISPATCHED = "dispatched"  # on its way: its units are in nobody's custody
    RECEIVED = "received"  # scanned in at the destination (discrepancies or not)
    CANCELLED = "cancelled"  # never left: its units stayed where they were


class Outcome(StrEnum):
    """What the receiver found for one item."""

    PACKED = "packed"  # on the manifest, not yet received
    ACCEPTED = "accepted"
    MISSING = "missing"
    DAMAGED = "damaged"
    UNEXPECTED = "unexpected"  # scanned on arrival, not on the manifest

    @property
    def discrepancy(self) -> bool:
        return self in (Outcome.MISSING, Outcome.DAMAGED, Outcome.UNEXPECTED)


# A shipment's identifier, bar-coded on its manifest: "SH", the sending site's facility number,
# the two-digit year and a six-digit sequence of that site and year (15 characters).
CODE = re.compile(r"^SH[A-Z][0-9A-Z]{4}\d{2}\d{6}$")
MAX_ITEMS = 200


def make_code(facility: str, year: int, number: int) -> str:
    return f"SH{facility}{year % 100:02d}{number:06d}"


def is_code(text: str) -> bool:
    return bool(CODE.match(text))


def condition(key: str) -> Condition:
    try:
        return CONDITIONS[key]
    except KeyError:
        raise KeyError(f"unknown shipping condition {key!r}") from None
