"""How ledger entries read on screen: an inspector reads the timeline, so values are
spelled out (units, yes/no, local times with the zone) rather than shown as raw JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...domain.lifecycle import ACTIONS, Status
from ...domain.roles import Role
from ...models import LedgerEntry, Unit
from ...timefmt import local_time

HIDDEN_KEYS = frozenset({"patient_id", "unit_id"})
SUFFIXES = {"_ml": " ml", "_c": " °C"}
LABELS = {
    "mrn": "MRN",
    "label_matches": "Label matches scan",
    "type": "Type",
    "cell_count": "Cell count",
    "collected_at": "Collected at",
}


@dataclass(frozen=True)
class TimelineEntry:
    entry: LedgerEntry
    action: str
    unit_label: str | None  # which unit of the collection, when it has more than one
    from_status: str | None
    to_status: str | None
    actor_role: str
    data: list[tuple[str, str]]


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    for suffix in SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ").capitalize()


def _datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def show(key: str, value: Any) -> str:
    """One recorded value as a person reads it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if {"type", "product_code", "division"} <= value.keys():
            return f"{value['type']} · {value['product_code']} {value['division']}"
        return ", ".join(
            f"{label(k)}: {show(k, v)}" for k, v in value.items() if k not in HIDDEN_KEYS
        )
    if isinstance(value, list):
        return "; ".join(show(key, v) for v in value)
    if value is None:
        return "—"
    if key == "cell_count" and isinstance(value, int):
        return f"{value:,}"
    if key.endswith("_date") and isinstance(value, str):
        return value[:10]
    if key.endswith("_at") and isinstance(value, str) and (moment := _datetime(value)):
        return local_time(moment)
    if key == "type" and isinstance(value, str):
        return value
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text + next((unit for suffix, unit in SUFFIXES.items() if key.endswith(suffix)), "")


def recorded(data: str) -> list[tuple[str, str]]:
    try:
        values = json.loads(data)
    except ValueError:
        return [("Data", data)]
    if not isinstance(values, dict):
        return [("Data", show("data", values))]
    return [(label(k), show(k, v)) for k, v in values.items() if k not in HIDDEN_KEYS]


def _status_label(value: str | None) -> str | None:
    try:
        return Status(value).label if value else None
    except ValueError:
        return value


def _role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


def timeline(entries: list[LedgerEntry], collection: list[Unit]) -> list[TimelineEntry]:
    """The collection's ledger entries, oldest first, ready to show."""
    by_id = {u.id: u for u in collection}
    result = []
    for entry in entries:
        unit = by_id.get(entry.unit_id)
        unit_label = None
        if unit is not None and len(collection) > 1:
            unit_label = f"{unit.unit_type} · {unit.product_code} {unit.division}"
        spec = ACTIONS.get(entry.action)
        result.append(
            TimelineEntry(
                entry=entry,
                action=spec.label if spec else entry.action.replace("_", " "),
                unit_label=unit_label,
                from_status=_status_label(entry.from_status),
                to_status=_status_label(entry.to_status),
                actor_role=_role_label(entry.actor_role),
                data=recorded(entry.data),
            )
        )
    return result
