"""How a unit's history reads on screen: the ledger timeline, entry by entry.

An inspector reads these, so values are spelled out (units, yes/no, local times with the
zone, signatures as their manifestation) rather than shown as raw JSON. The unit page's
panels (``web.units.panels``) show signatures the way this module does; the patient page,
the history export and the custody report (``services.custody_report``) read the timeline
from here too, so every screen and export words an entry the same way. Nothing here changes
state and nothing here knows of Flask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...domain import qc as qc_domain
from ...domain.lifecycle import ACTIONS, Status
from ...domain.processing import PROTOCOLS
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...models import LedgerEntry, Unit
from ...timefmt import local_time

HIDDEN_KEYS = frozenset({"patient_id", "unit_id", "signer_id", "physician_id"})
SUFFIXES = {"_ml": " ml", "_c": " °C"}
LABELS = {
    "mrn": "MRN",
    "label_matches": "Label matches scan",
    "type": "Type",
    "cell_count": "Cell count",
    "collected_at": "Collected at",
    "step_name": "Step",
    "test": "Test",
    "spec": "Specification",
    "qc_result_id": "QC result",
    "corrects": "Corrects QC result",
    "deviation_id": "Deviation opened",
    "qc_alert": "QC alert",
    "signed_record": "Signed record",
    "location": "Location code",
    "location_path": "Location",
    "identity_check": "Identity check",
    "protocol_steps": "Protocol steps",
    "sha256": "SHA-256",
    "replaces": "Replaces certificate",
}
# The ledger stores keys sorted; these read best first, in this order.
FIRST_KEYS = (
    "step_name",
    "started_at",
    "ended_at",
    "reagent",
    "lot",
    "test",
    "value",
    "verdict",
    "spec",
    "method",
    "meaning",
)


@dataclass(frozen=True)
class TimelineEntry:
    entry: LedgerEntry
    action: str
    unit_label: str | None  # which unit of the collection, when it has more than one
    from_status: str | None
    to_status: str | None
    actor_role: str
    data: list[tuple[str, str]]
    signatures: list[SignatureView] = field(default_factory=list)
    alert: bool = False  # a refused bedside check: shown loud


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    for suffix in SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ").capitalize()


def aware_datetime(value: str) -> datetime | None:
    """A recorded ISO 8601 moment, or None if it is not one or names no zone."""
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
    if key == "protocol_steps" and isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    if isinstance(value, list):
        return "; ".join(show(key, v) for v in value)
    if value is None:
        return "—"
    if key == "cell_count" and isinstance(value, int):
        return f"{value:,}"
    if key.endswith("_date") and isinstance(value, str):
        return value[:10]
    if key.endswith("_at") and isinstance(value, str) and (moment := aware_datetime(value)):
        return local_time(moment)
    if key == "type" and isinstance(value, str):
        return value
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text + next((unit for suffix, unit in SUFFIXES.items() if key.endswith(suffix)), "")


def _record_qc(values: Mapping[str, Any]) -> dict[str, str]:
    """A QC entry: the test by name, the value in its unit, the spec with its version."""
    test = qc_domain.TESTS.get(values.get("test", ""))
    shown: dict[str, str] = {}
    if test is not None:
        shown["test"] = test.name
        if isinstance(values.get("value"), int | float | str):
            shown["value"] = qc_domain.value_text(test, values["value"])
    if "spec" in values:
        shown["spec"] = f"{values['spec']} (version {values.get('spec_version', '?')})"
    for key in ("qc_result_id", "corrects", "deviation_id"):
        if isinstance(values.get(key), int):
            shown[key] = f"#{values[key]}"
    return shown


def signed_summary(record: Any) -> str:
    """What a signature was bound to, in one line (the record itself is in the ledger)."""
    if not isinstance(record, dict):
        return show("data", record)
    unit = record.get("unit") if isinstance(record.get("unit"), dict) else {}
    parts = [
        " ".join(str(unit[k]) for k in ("type", "product_code", "division") if unit.get(k))
        or "the unit"
    ]
    results = [r for r in record.get("qc", []) if isinstance(r, dict)]
    if results:
        verdicts = [str(r.get("verdict")) for r in results]
        tally = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
        parts.append(f"{len(results)} QC results ({tally})")
    if record.get("reason"):
        parts.append(f"reason: {record['reason']}")
    if record.get("problems"):
        parts.append("problems: " + "; ".join(map(str, record["problems"])))
    return "; ".join(parts)


def recorded(data: str) -> list[tuple[str, str]]:
    try:
        values = json.loads(data)
    except ValueError:
        return [("Data", data)]
    if not isinstance(values, dict):
        return [("Data", show("data", values))]
    special = _record_qc(values) if "verdict" in values or "spec" in values else {}
    if "signed_record" in values:
        special["signed_record"] = signed_summary(values["signed_record"])
    if values.get("protocol") in PROTOCOLS:
        special["protocol"] = PROTOCOLS[values["protocol"]].name
    keys = [k for k in FIRST_KEYS if k in values] + [k for k in values if k not in FIRST_KEYS]
    return [
        (label(k), special[k] if k in special else show(k, values[k]))
        for k in keys
        if k not in HIDDEN_KEYS and not _folded(k, values)
    ]


def _folded(key: str, values: Mapping[str, Any]) -> bool:
    """Shown another way: signatures as manifestations, the spec's version beside the spec,
    the step's key as its name."""
    return key in ("signatures", "spec_version") or (key == "step" and "step_name" in values)


@dataclass(frozen=True)
class SignatureView:
    """A signature as it reads on screen (Part 11 §11.50): who, when with zone, meaning."""

    manifestation: str
    role: str
    action: str
    record_hash: str
    unit_label: str | None = None

    @property
    def short_hash(self) -> str:
        return self.record_hash[:12]


def signature_view(
    name: str, meaning: str, signed_at: datetime | None, role: str, action: str, digest: str
) -> SignatureView:
    """One signature, from its recorded parts, as it reads on screen."""
    when = local_time(signed_at) if signed_at else "time not recorded"
    return SignatureView(manifestation(name, meaning, when), _role_label(role), action, digest)


def ledger_signatures(data: str, action: str) -> list[SignatureView]:
    """The signatures a ledger entry carries, as manifestations."""
    try:
        values = json.loads(data)
    except ValueError:
        return []
    found = values.get("signatures") if isinstance(values, dict) else None
    return [
        signature_view(
            str(s.get("name", "?")),
            str(s.get("meaning", "?")),
            aware_datetime(str(s.get("signed_at", ""))),
            str(s.get("role", "")),
            action,
            str(s.get("record_hash", "")),
        )
        for s in (found if isinstance(found, list) else [])
        if isinstance(s, dict)
    ]


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


EXTRA_LABELS = {
    "identity_check": "Bedside identity check",
    "certificate_issued": "Certificate of release issued",
    "import": "Imported from a file (history recorded elsewhere)",
}


def _refused_check(entry: LedgerEntry) -> bool:
    """A bedside identity check that found another patient's wristband."""
    if entry.action != "identity_check":
        return False
    try:
        return json.loads(entry.data).get("result") == "mismatch"
    except (ValueError, AttributeError):
        return False


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
        name = spec.label if spec else EXTRA_LABELS.get(entry.action, entry.action)
        result.append(
            TimelineEntry(
                entry=entry,
                action=name.replace("_", " "),
                unit_label=unit_label,
                from_status=_status_label(entry.from_status),
                to_status=_status_label(entry.to_status),
                actor_role=_role_label(entry.actor_role),
                data=recorded(entry.data),
                signatures=ledger_signatures(entry.data, entry.action),
                alert=_refused_check(entry),
            )
        )
    return result
