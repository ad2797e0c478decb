"""The product catalogue (product §3): what each unit type is, what it comes from,
how it is stored and how long it is usable. Data, readable in one screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Temperature:
    low_c: float | None
    high_c: float | None

    def contains(self, value: float) -> bool:
        return (self.low_c is None or value >= self.low_c) and (
            self.high_c is None or value <= self.high_c
        )

    def __str__(self) -> str:
        if self.low_c is None:
            return f"≤ {self.high_c:g} °C"
        if self.high_c is None:
            return f"≥ {self.low_c:g} °C"
        return f"{self.low_c:g}–{self.high_c:g} °C"


@dataclass(frozen=True)
class UnitType:
    key: str
    name: str
    product_code: str
    kind: str  # "source" or "product"
    derived_from: tuple[str, ...]
    storage: Temperature
    shelf_life: timedelta  # sources: from collection; products: from end of processing
    shelf_life_note: str
    anticoagulant: str | None = None
    collection_sites: tuple[str, ...] = ()

    @property
    def is_source(self) -> bool:
        return self.kind == "source"


COLD = Temperature(2, 8)
ROOM = Temperature(15, 25)
CRYO = Temperature(None, -150)
# A thawed cryopreserved product is kept cool or at room temperature, and used within 4 h.
THAWED_STORAGE = Temperature(2, 25)
THAW_SHELF_LIFE = timedelta(hours=4)

FAT_SITES = ("abdomen", "thigh", "flank")
MARROW_SITES = ("posterior iliac crest",)
BLOOD_SITES = ("antecubital vein",)

CATALOGUE: dict[str, UnitType] = {
    t.key: t
    for t in (
        UnitType(
            "ADIPOSE",
            "Adipose tissue, lipoaspirate",
            "S1010",
            "source",
            (),
            COLD,
            timedelta(hours=24),
            "must be received within 24 h of collection",
            collection_sites=FAT_SITES,
        ),
        UnitType(
            "MARROW",
            "Bone marrow aspirate (heparin)",
            "S1020",
            "source",
            (),
            ROOM,
            timedelta(hours=48),
            "must be received within 48 h of collection",
            anticoagulant="heparin",
            collection_sites=MARROW_SITES,
        ),
        UnitType(
            "BLOOD",
            "Peripheral blood (ACD-A) for PRP",
            "S1030",
            "source",
            (),
            ROOM,
            timedelta(hours=4),
            "must be processed within 4 h of collection",
            anticoagulant="ACD-A",
            collection_sites=BLOOD_SITES,
        ),
        UnitType(
            "SVF",
            "Stromal vascular fraction, adipose",
            "S2010",
            "product",
            ("ADIPOSE",),
            COLD,
            timedelta(hours=24),
            "24 h after end of processing",
        ),
        UnitType(
            "BM-MNC",
            "Bone marrow mononuclear cells",
            "S2020",
            "product",
            ("MARROW",),
            COLD,
            timedelta(hours=48),
            "48 h after end of processing",
        ),
        UnitType(
            "PRP",
            "Platelet-rich plasma",
            "S2030",
            "product",
            ("BLOOD",),
            ROOM,
            timedelta(hours=4),
            "4 h after end of processing",
        ),
        UnitType(
            "MSC(AT)",
            "Culture-expanded MSC, adipose",
            "S3010",
            "product",
            ("SVF",),
            CRYO,
            timedelta(days=5 * 365),
            "5 years frozen; 4 h after thaw",
        ),
        UnitType(
            "MSC(M)",
            "Culture-expanded MSC, marrow",
            "S3020",
            "product",
            ("BM-MNC",),
            CRYO,
            timedelta(days=5 * 365),
            "5 years frozen; 4 h after thaw",
        ),
    )
}

SOURCE_TYPES = tuple(k for k, t in CATALOGUE.items() if t.is_source)
# What the lab makes, and QC is specified for: every product in the catalogue (SVF … MSC(M)).
PRODUCT_TYPES = tuple(k for k, t in CATALOGUE.items() if not t.is_source)
BY_PRODUCT_CODE = {t.product_code: t for t in CATALOGUE.values()}


def unit_type(key: str) -> UnitType:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise KeyError(f"unknown unit type {key!r}; known: {', '.join(CATALOGUE)}") from None


def products_of(source_key: str) -> tuple[str, ...]:
    """Types that processing can make directly from a unit of this type."""
    return tuple(k for k, t in CATALOGUE.items() if source_key in t.derived_from)
