"""The panels of the unit page: processing record, QC against spec, signatures, deviations, flags.

Each panel answers one question a reviewer asks before release or at inspection (how was it
made, does its QC meet the spec in force, who signed what, what went wrong); the action pages
reuse the QC and processing panels above their forms (``action_context``). Kept apart from
``view``, which turns ledger entries into the timeline, because these gather the unit's
standing from several services (QC, processing, release). Nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ...domain import qc as qc_domain
from ...domain.catalogue import CATALOGUE
from ...domain.deviations import decision_label, kind_label
from ...domain.lifecycle import Status
from ...domain.materials import EQUIPMENT_KINDS
from ...domain.processing import protocol_for
from ...models import Deviation, LedgerEntry, QcResult, Unit, User
from ...models.types import utcnow
from ...services.actions import processing, qc, release
from ...services.admin import accounts
from ...services.audit.timeline import SignatureView, aware_datetime, signature_view
from ...services.custody.signatures import signatures_of
from ...services.materials import uses
from ...timefmt import local_time


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
    closed: str | None = None  # QA's decision, who signed and when; None while open
    note: str | None = None


@dataclass(frozen=True)
class UnitPanels:
    processing: list[ProcessingRecord]
    qc: QcPanel | None  # None for a source: its products carry the QC
    deviations: list[DeviationRow]
    signatures: list[SignatureView]
    flags: list[str]
    alert: str | None
    materials: list[uses.UseView] = field(default_factory=list)  # the lineage's equipment, lots
    unit_labels: dict[int, str] = field(default_factory=dict)


def _unit_name(unit: Unit) -> str:
    return f"{unit.unit_type} · {unit.product_code} {unit.division}"


def _step_row(entry: LedgerEntry) -> StepRow:
    data = processing.step_data(entry)
    started, ended = (aware_datetime(str(data.get(k, ""))) for k in ("started_at", "ended_at"))
    reagent = data.get("reagent") or ""
    if data.get("lot"):
        # A register lot names its number and code; a lot recorded before the register, its text.
        lot = f"{data['lot_number']} ({data['lot']})" if data.get("lot_number") else data["lot"]
        reagent = f"{reagent} · lot {lot}" if reagent else f"lot {lot}"
    equipment = str(data.get("equipment") or "—")
    if data.get("equipment_name"):
        equipment = f"{data['equipment_name']} {equipment}"
    return StepRow(
        name=str(data.get("step_name") or data.get("step", "?")),
        operator=str(data.get("operator") or entry.actor_name),
        period=f"{local_time(started)} – {local_time(ended)}",
        reagent=reagent or "—",
        equipment=equipment,
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
    for s in signatures_of(list(units)):
        view = signature_view(
            s.printed_name, s.meaning, s.signed_at, s.role, s.action, s.record_hash
        )
        other = None if s.unit_id == unit.id else _unit_name(units[s.unit_id])
        views.append(replace(view, unit_label=other))
    return views


def unit_panels(unit: Unit) -> UnitPanels:
    panel = qc_panel(unit)
    lineage = unit.lineage()
    flags = []
    if unit.exceptional_release:
        flags.append("exceptional release")
    if unit.released_at is not None and panel is not None and panel.released_pending:
        flags.append(f"released with {', '.join(panel.released_pending)} pending")
    deviations = [deviation_row(d) for d in qc.deviations_of(unit)]
    return UnitPanels(
        processing=processing_records(unit),
        qc=panel,
        deviations=deviations,
        signatures=signature_views(unit),
        flags=flags,
        alert=unit.qc_alert,
        materials=uses.views_of([u.id for u in lineage]),
        unit_labels={u.id: _unit_name(u) for u in lineage},
    )


def action_context(name: str, unit: Unit, actor: User) -> dict[str, Any]:
    """What an action's page shows above its form: QC against spec before a release, the
    steps so far before recording one, and whether the signer took part in the unit."""
    if name in ("release", "exceptional_release"):
        done = release.hands_on(unit, actor)
        return {"qc": qc_panel(unit), "hands_on": sorted(a.replace("_", " ") for a in done)}
    if name == "record_qc":
        return {"qc": qc_panel(unit), **register_options()}
    if name == "record_step":
        return {"processing": processing_records(unit), **register_options()}
    if name == "start_processing":
        return register_options(kind="biosafety_cabinet")
    return {}


def register_options(kind: str | None = None) -> dict[str, Any]:
    """The equipment and lots usable today, for the form's pick lists (code → what it is)."""
    today = uses.site_day(utcnow())
    equipment = [
        (e.code, f"{e.name} · {EQUIPMENT_KINDS.get(e.kind, e.kind)}")
        for e in uses.usable_equipment(today)
        if kind is None or e.kind == kind
    ]
    lots = [
        (
            lot.code,
            f"{lot.reagent} · {lot.product_name} lot {lot.lot_number} · "
            f"{lot.quantity_remaining:g} {lot.quantity_unit} left",
        )
        for lot in uses.usable_lots(today)
    ]
    return {"equipment_options": equipment, "lot_options": lots if kind is None else []}


def active_clinicians() -> list[User]:
    """Who may receive a dispensed unit or co-sign an exceptional release."""
    return accounts.active_clinicians()


def deviation_row(deviation: Deviation) -> DeviationRow:
    closed = None
    if not deviation.is_open:
        who = deviation.closed_by.full_name if deviation.closed_by else "QA"
        closed = (
            f"closed: {decision_label(deviation.decision)} — {who}, "
            f"{local_time(deviation.closed_at)}"
        )
    return DeviationRow(
        kind_label(deviation.kind),
        deviation.description,
        deviation.opened_by.full_name,
        local_time(deviation.opened_at),
        closed,
        deviation.decision_note,
    )
