"""The release queue's cards: what QA reads of each product before signing, gathered from
the services (QC against the specs in force, the processing record, deviations)."""

from __future__ import annotations

from dataclasses import dataclass

from ...domain import qc as qc_rules
from ...domain.processing import protocol_for
from ...models import QcResult, Unit, User
from ...services.actions import processing, qc, release


@dataclass(frozen=True)
class QcCell:
    """One specified test at a glance: its state in words, the value and the spec."""

    test: str
    name: str
    spec_text: str
    state: str  # pass, fail, pending, missing
    words: str  # the state as a person reads it
    value: str | None
    required: bool


@dataclass(frozen=True)
class ProcessingSummary:
    protocol: str | None
    done: int
    required: int
    operators: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.done >= self.required


@dataclass(frozen=True)
class QueueCard:
    unit: Unit
    processing: ProcessingSummary | None
    cells: list[QcCell]
    deviations: int
    open_deviations: int
    ready: bool
    problems: list[str]
    flags: list[str]  # ready, but the release is flagged (pending sterility)
    barred: list[str]  # what the viewer did to the unit that bars them from releasing it


def processed_from(unit: Unit) -> Unit | None:
    """The unit whose processing made this product (an aliquot's is its whole product's)."""
    return qc.qc_units(unit)[-1].parent


def processing_summary(unit: Unit) -> ProcessingSummary | None:
    source = processed_from(unit)
    if source is None:
        return None
    protocol = protocol_for(source.unit_type)
    entries = processing.recorded_steps(source)
    done = {processing.step_data(e).get("step") for e in entries}
    required = protocol.required if protocol else ()
    operators = tuple(dict.fromkeys(e.actor_name for e in entries))
    return ProcessingSummary(
        protocol=protocol.name if protocol else None,
        done=len([k for k in required if k in done]),
        required=len(required),
        operators=operators,
    )


def _cell(spec: qc_rules.Spec, result: QcResult | None) -> QcCell:
    test = spec.qc_test
    if result is None:
        state = "missing"
        words = "no result" if spec.required else "not done (not required)"
        value = None
    else:
        state = result.verdict
        value = qc_rules.value_text(test, result.value) if state != "pending" else None
        words = {"pass": "in spec", "fail": "out of spec", "pending": "pending"}[state]
        if state == "pending" and result.spec_snapshot.get("pending_at_release"):
            words = "pending (may be released, flagged)"
    return QcCell(spec.test, test.name, spec.text, state, words, value, spec.required)


def card(unit: Unit, viewer: User) -> QueueCard:
    status = qc.qc_status(unit)
    readiness = status.readiness
    cells = [_cell(spec, status.current.get(spec.test)) for spec in status.specs]
    names = {k: t.name.lower() for k, t in qc_rules.TESTS.items()}
    flags = [
        f"{names[t]} still pending: the release will be flagged" for t in readiness.released_pending
    ]
    if unit.qc_alert:
        flags.append(unit.qc_alert)
    return QueueCard(
        unit=unit,
        processing=processing_summary(unit),
        cells=cells,
        deviations=qc.deviation_count(unit),
        open_deviations=qc.deviation_count(unit, open_only=True),
        ready=readiness.complete,
        problems=readiness.problems(),
        flags=flags,
        barred=release.hands_on(unit, viewer),
    )


def cards(viewer: User) -> list[QueueCard]:
    """Every product waiting for QA, soonest expiry first (the service's order)."""
    return [card(unit, viewer) for unit in qc.release_queue()]
