"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200; product §6).

A signature names its signer (printed name), the UTC time and its meaning, and is bound to
the SHA-256 of a canonical record of what was signed: a later change to that record no
longer matches the signature. The signed record and the signature both go into the custody
ledger, whose HMAC chain makes them tamper-evident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from .ledger_chain import canonical_json


class Meaning(StrEnum):
    REVIEWED = "reviewed"
    APPROVED_FOR_RELEASE = "approved for release"
    REJECTED = "rejected"
    APPROVED_EXCEPTIONAL_RELEASE = "approved exceptional release"


# The meaning each signed action accepts; a signature of another meaning is refused.
ACTION_MEANINGS: dict[str, tuple[Meaning, ...]] = {
    "release": (Meaning.APPROVED_FOR_RELEASE,),
    "exceptional_release": (Meaning.APPROVED_EXCEPTIONAL_RELEASE,),
    "reject": (Meaning.REJECTED,),
    "close_deviation": (Meaning.REVIEWED,),  # QA's signed decision on a deviation
    "close_adverse_reaction": (Meaning.REVIEWED,),  # QA's decision on an adverse reaction
}


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of what is signed."""
    return hashlib.sha256(canonical_json(dict(record)).encode()).hexdigest()


def manifestation(name: str, meaning: str, signed_at_text: str) -> str:
    """How a signature reads on screen and in exports (§11.50)."""
    return f"Signed by {name}, {signed_at_text}: {meaning}"
