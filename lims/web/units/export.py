"""A unit's custody history as CSV: every entry of its collection, read by the one report
builder (``services.custody_report``) the chain-of-custody report uses too, with each
signature's manifestation spelled out (Part 11 §11.50), custodian and location before and
after, local time with zone and UTC, and the entry's hash, so an inspector can match a
printed row to the verified chain."""

from __future__ import annotations

from ...models import Unit
from ...services.audit.custody_report import collection_history, entries_csv


def history_csv(unit: Unit) -> str:
    return entries_csv(collection_history(unit))
