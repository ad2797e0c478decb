"""How a unit reads on screen: the ledger timeline and the panels of the unit page.

An inspector reads these, so values are spelled out (units, yes/no, local times with the
zone, signatures as their manifestation) rather than shown as raw JSON. Everything is read
through the services; nothing here changes state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ...domain import qc as qc_domain
from ...domain.catalogue import CATALOGUE
from ...domain.lifecycle import ACTIONS, Status
from ...domain.processing import PROTOCOLS, protocol_for
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...models import LedgerEntry, QcResult, Unit, User
from ...services import accounts, processing, qc, release
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
    if key.endswith("_at") and isinstance(value, str) and (moment := _datetime(value)):
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


def _sign_view(
    name: str, meaning: str, signed_at: datetime | None, role: str, action: str, digest: str
) -> SignatureView:
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
        _sign_view(
            str(s.get("name", "?")),
            str(s.get("meaning", "?")),
            _datetime(str(s.get("signed_at", ""))),
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


EXTRA_LABELS = {"identity_check": "Bedside identity check"}


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


# ---------------------------------------------------------------------------- unit page panels


@dataclass(frozen=True)
class StepRow:
    name: str
    operator: str
    period: str  # "start – end" in the site's zone, zone named
    reagent: str  # reagent and lot
    equipment: str
    notes: str


@dataclass(frozen=True)
class ProcessingRecord:
    title: str
    unit: Unit  # whose steps these are
    protocol: str | None
    steps: list[StepRow]
    missing: list[str] = field(default_factory=list)  # required steps still to record


@dataclass(frozen=True)
class QcEntry:
    """One recorded result, judged against the spec version in force when it was recorded."""

    id: int
    value: str
    verdict: str  # pass, fail, pending
    judged_against: str
    method: str
    lot: str
    who: str
    when: str
    corrects: int | None
    reason: str | None  # a correction's reason
    superseded_by: str | None = None  # for an old value: why it no longer counts


@dataclass(frozen=True)
class QcRow:
    test: str
    name: str
    spec: str  # the spec in force, with its version
    required: bool
    current: QcEntry | None
    history: list[QcEntry]  # superseded values, oldest first


@dataclass(frozen=True)
class QcPanel:
    rows: list[QcRow]
    problems: list[str]
    released_pending: list[str]

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DeviationRow:
    kind: str
    description: str
    who: str
    when: str


@dataclass(frozen=True)
class UnitPanels:
    processing: list[ProcessingRecord]
    qc: QcPanel | None  # None for a source: its products carry the QC
    deviations: list[DeviationRow]
    signatures: list[SignatureView]
    flags: list[str]
    alert: str | None


def _unit_name(unit: Unit) -> str:
    return f"{unit.unit_type} · {unit.product_code} {unit.division}"


def _step_row(entry: LedgerEntry) -> StepRow:
    data = processing.step_data(entry)
    started, ended = (_datetime(str(data.get(k, ""))) for k in ("started_at", "ended_at"))
    reagent = data.get("reagent") or ""
    if data.get("lot"):
        reagent = f"{reagent} · lot {data['lot']}" if reagent else f"lot {data['lot']}"
    return StepRow(
        name=str(data.get("step_name") or data.get("step", "?")),
        operator=str(data.get("operator") or entry.actor_name),
        period=f"{local_time(started)} – {local_time(ended)}",
        reagent=reagent or "—",
        equipment=str(data.get("equipment") or "—"),
        notes=str(data.get("notes") or ""),
    )


def _processing_record(unit: Unit, title: str) -> ProcessingRecord:
    protocol = protocol_for(unit.unit_type)
    entries = processing.recorded_steps(unit)
    missing: list[str] = []
    if protocol is not None and unit.status == Status.IN_PROCESSING:
        done = {processing.step_data(e).get("step") for e in entries}
        missing = [s.name for s in protocol.steps if s.required and s.key not in done]
    return ProcessingRecord(
        title, unit, protocol.name if protocol else None, [_step_row(e) for e in entries], missing
    )


def made_from(unit: Unit) -> Unit | None:
    """The unit whose processing made this product (past any aliquot splits), if any."""
    node = unit
    while node.parent is not None and node.parent.product_code == node.product_code:
        node = node.parent
    return node.parent


def processing_records(unit: Unit) -> list[ProcessingRecord]:
    records = []
    maker = made_from(unit)
    if maker is not None:
        records.append(_processing_record(maker, f"how {_unit_name(maker)} was processed into it"))
    if unit.status == Status.IN_PROCESSING or processing.recorded_steps(unit):
        records.append(_processing_record(unit, "this unit"))
    return records


def _qc_entry(result: QcResult) -> QcEntry:
    test = qc_domain.TESTS[result.test]
    return QcEntry(
        id=result.id,
        value=qc_domain.value_text(test, result.value),
        verdict=result.verdict,
        judged_against=f"{result.spec_snapshot.get('text', '?')} (version {result.spec_version})",
        method=result.method,
        lot=result.lot,
        who=result.recorded_by.full_name,
        when=local_time(result.recorded_at),
        corrects=result.corrects_id,
        reason=result.reason,
    )


def _superseded(result: QcResult, later: list[QcResult]) -> QcEntry:
    correction = next((r for r in later if r.corrects_id == result.id), None)
    why = (
        f"corrected by result #{correction.id}: {correction.reason}"
        if correction is not None
        else "superseded by a later result"
    )
    return replace(_qc_entry(result), superseded_by=why)


def qc_panel(unit: Unit) -> QcPanel | None:
    if CATALOGUE[unit.unit_type].is_source:
        return None
    status = qc.qc_status(unit)
    results = qc.results_of(unit)
    old = qc.superseded_ids(results)
    specs = {s.test: s for s in status.specs}
    tests = list(specs) + [t for t in dict.fromkeys(r.test for r in results) if t not in specs]
    rows = []
    for test in tests:
        spec = specs.get(test)
        mine = [r for r in results if r.test == test]
        current = status.current.get(test)
        rows.append(
            QcRow(
                test=test,
                name=qc_domain.TESTS[test].name,
                spec=f"{spec.text} (version {spec.version})" if spec else "no specification",
                required=bool(spec and spec.required),
                current=_qc_entry(current) if current is not None else None,
                history=[_superseded(r, mine) for r in mine if r.id in old],
            )
        )
    names = [qc_domain.TESTS[t].name.lower() for t in status.readiness.released_pending]
    return QcPanel(rows, status.readiness.problems(), names)


def correctable_results(unit: Unit) -> list[tuple[QcResult, str]]:
    """The current results one may correct, each with how the choice reads."""
    current = qc.current_results(qc.results_of(unit)).values()
    return [
        (
            r,
            f"#{r.id} {qc_domain.TESTS[r.test].name}: "
            f"{qc_domain.value_text(qc_domain.TESTS[r.test], r.value)} ({r.verdict}), "
            f"{r.recorded_by.full_name}, {local_time(r.recorded_at)}",
        )
        for r in sorted(current, key=lambda r: r.id)
    ]


def signature_views(unit: Unit) -> list[SignatureView]:
    """Signatures on this unit and on the units it came from (a release covers its aliquots)."""
    units = {u.id: u for u in unit.lineage()}
    views = []
    for s in release.signatures_of(list(units)):
        view = _sign_view(s.printed_name, s.meaning, s.signed_at, s.role, s.action, s.record_hash)
        other = None if s.unit_id == unit.id else _unit_name(units[s.unit_id])
        views.append(replace(view, unit_label=other))
    return views


DEVIATION_KINDS = {"qc_out_of_specification": "QC out of specification"}


def unit_panels(unit: Unit) -> UnitPanels:
    panel = qc_panel(unit)
    flags = []
    if unit.exceptional_release:
        flags.append("exceptional release")
    if unit.released_at is not None and panel is not None and panel.released_pending:
        flags.append(f"released with {', '.join(panel.released_pending)} pending")
    deviations = [
        DeviationRow(
            DEVIATION_KINDS.get(d.kind, d.kind.replace("_", " ").capitalize()),
            d.description,
            d.opened_by.full_name,
            local_time(d.opened_at),
        )
        for d in qc.deviations_of(unit)
    ]
    return UnitPanels(
        processing=processing_records(unit),
        qc=panel,
        deviations=deviations,
        signatures=signature_views(unit),
        flags=flags,
        alert=unit.qc_alert,
    )


def action_context(name: str, unit: Unit, actor: User) -> dict[str, Any]:
    """What an action's page shows above its form: QC against spec before a release, the
    steps so far before recording one, and whether the signer took part in the unit."""
    if name in ("release", "exceptional_release"):
        done = release.hands_on(unit, actor)
        return {"qc": qc_panel(unit), "hands_on": sorted(a.replace("_", " ") for a in done)}
    if name == "record_qc":
        return {"qc": qc_panel(unit)}
    if name == "record_step":
        return {"processing": processing_records(unit)}
    return {}


def active_clinicians() -> list[User]:
    """Who may receive a dispensed unit or co-sign an exceptional release."""
    return accounts.active_clinicians()
