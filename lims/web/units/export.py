"""A unit's custody history as CSV: the same reading as the unit page's timeline, one row per
ledger entry, with each signature's manifestation spelled out (Part 11 §11.50) and the
entry's hash, so an inspector can match a printed row to the verified chain."""

from __future__ import annotations

import csv
import io

from ...models import Unit
from ...timefmt import local_time
from .view import TimelineEntry

COLUMNS = (
    "entry",
    "recorded at",
    "unit",
    "action",
    "status",
    "by",
    "role",
    "recorded data",
    "reason",
    "signatures",
    "entry hash",
)


def history_csv(unit: Unit, items: list[TimelineEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for item in items:
        entry = item.entry
        status = f"{item.from_status or 'new'} → {item.to_status or '—'}"
        writer.writerow(
            (
                entry.seq,
                local_time(entry.recorded_at, "%Y-%m-%d %H:%M:%S"),
                item.unit_label or f"{unit.unit_type} · {unit.product_code} {unit.division}",
                item.action,
                status if (item.from_status or item.to_status) else "",
                entry.actor_name,
                item.actor_role,
                "; ".join(f"{key}: {value}" for key, value in item.data),
                entry.reason or "",
                " | ".join(s.manifestation for s in item.signatures),
                entry.entry_hash,
            )
        )
    return out.getvalue()
