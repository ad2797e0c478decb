"""Models → API response shapes (``schemas``); reading only, never writing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..domain import qc as qc_rules
from ..domain.catalogue import unit_type
from ..domain.ledger_chain import VerifyResult
from ..domain.lifecycle import Action
from ..models import Deviation, LedgerEntry, Location, QcResult, QcSpec, Unit, User
from ..services.actions import qc, release
from ..services.actions.units import ActionResult, allowed_actions
from ..services.custody.quick_check import QuickCheck
from .schemas import (
    ActionResultOut,
    ActorOut,
    ChainBreakOut,
    DeviationOut,
    FullVerificationOut,
    LedgerEntryOut,
    LocationOut,
    PatientOut,
    PersonOut,
    ProductSpecsOut,
    QcResultOut,
    QuickVerifyOut,
    ReadinessOut,
    ReceiptRefOut,
    ReleaseQueueItemOut,
    SpecDetailOut,
    SpecOut,
    SpecVersionOut,
    UnitDetailOut,
    UnitOut,
    UnitQcOut,
    UserOut,
    VerifyOut,
)


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=user.role, name=user.full_name)


def _location_out(location: Location | None) -> LocationOut | None:
    if location is None:
        return None
    return LocationOut(id=location.id, code=location.code, name=location.name, path=location.path)


def _unit_fields(unit: Unit) -> dict[str, Any]:
    patient = unit.patient
    custodian = unit.custodian
    return {
        "id": unit.id,
        "identifier": unit.din,
        "check_character": unit.check_character,
        "barcode_data": unit.barcode_data,
        "eye_readable": unit.eye_readable,
        "product_code": unit.product_code,
        "division": unit.division,
        "status": unit.status,
        "type": unit.unit_type,
        "type_name": unit.kind.name,
        "parent_id": unit.parent_id,
        "volume_ml": unit.volume_ml,
        "cell_count": unit.cell_count,
        "collection_site": unit.collection_site,
        "collected_at": unit.collected_at,
        "donor_testing": unit.donor_testing,
        "chain_of_identity": unit.chain_of_identity,
        "received_at": unit.received_at,
        "processed_at": unit.processed_at,
        "expires_at": unit.expires_at,
        "custodian": PersonOut(id=custodian.id, name=custodian.full_name) if custodian else None,
        "location": _location_out(unit.location),
        "deviation": bool(unit.deviation),
        "thawed_at": unit.thawed_at,
        "released_at": unit.released_at,
        "exceptional_release": bool(unit.exceptional_release),
        "administered_at": unit.administered_at,
        "qc_alert": unit.qc_alert,
        "version": unit.version,
        "patient": PatientOut(
            id=patient.id, mrn=patient.mrn, name=patient.name, wristband=patient.wristband
        ),
    }


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(**_unit_fields(unit))


def unit_detail_out(
    unit: Unit, viewer: User, allowed: Sequence[Action] | None = None
) -> UnitDetailOut:
    """The unit as one caller sees it: with what that caller may do to it now (``allowed``:
    worked out already, as a scan does)."""
    if allowed is None:
        allowed = allowed_actions(unit, viewer)
    return UnitDetailOut(
        **_unit_fields(unit),
        allowed_actions=[a.name for a in allowed],
        children=unit.child_ids,
    )


def entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        seq=entry.seq,
        unit_id=entry.unit_id,
        product_code=entry.product_code,
        division=entry.division,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        from_custodian_id=entry.from_custodian_id,
        to_custodian_id=entry.to_custodian_id,
        from_location_id=entry.from_location_id,
        to_location_id=entry.to_location_id,
        actor=ActorOut(id=entry.actor_id, name=entry.actor_name, role=entry.actor_role),
        recorded_at=entry.recorded_at,
        data=json.loads(entry.data),
        reason=entry.reason,
        corrects_id=entry.corrects_id,
        entry_hash=entry.entry_hash,
        prev_hash=entry.prev_hash,
    )


def action_result_out(result: ActionResult, viewer: User) -> ActionResultOut:
    return ActionResultOut(
        unit=unit_detail_out(result.unit, viewer),
        entries=[entry_out(e) for e in result.entries],
        products=[unit_out(p) for p in result.products],
    )


# ---------------------------------------------------------------------------- QC and release


def _person(user: User) -> PersonOut:
    return PersonOut(id=user.id, name=user.full_name)


def _terms(spec: qc_rules.Spec) -> dict[str, Any]:
    return {
        "version": spec.version,
        "operator": spec.operator,
        "limit": spec.limit,
        "accept": list(spec.accept),
        "required": spec.required,
        "pending_at_release": spec.pending_at_release,
        "text": spec.text,
    }


def spec_out(spec: qc_rules.Spec) -> SpecOut:
    test = spec.qc_test
    return SpecOut(
        **_terms(spec),
        product_type=spec.product_type,
        test=spec.test,
        test_name=test.name,
        measure=test.unit,
        values=list(test.words),
    )


def _version_out(spec: qc_rules.Spec, row: QcSpec | None) -> SpecVersionOut:
    return SpecVersionOut(
        **_terms(spec),
        reason=row.reason if row else None,
        published_by=_person(row.created_by) if row else None,
        published_at=row.created_at if row else None,
    )


def spec_detail_out(product_type: str, test: str) -> SpecDetailOut:
    """The version in force of one specification, with every version before it."""
    history = qc.spec_history(product_type, test)
    current, _ = history[-1]
    return SpecDetailOut(
        **spec_out(current).model_dump(),
        history=[_version_out(spec, row) for spec, row in history],
    )


def product_specs_out(product_type: str) -> ProductSpecsOut:
    return ProductSpecsOut(
        product_type=product_type,
        name=unit_type(product_type).name,
        specs=[spec_detail_out(product_type, s.test) for s in qc.specs_in_force(product_type)],
    )


def readiness_out(readiness: qc_rules.Readiness) -> ReadinessOut:
    return ReadinessOut(
        complete=readiness.complete,
        missing=list(readiness.missing),
        failing=list(readiness.failing),
        pending=list(readiness.pending),
        released_pending=list(readiness.released_pending),
        problems=readiness.problems(),
    )


def qc_result_out(result: QcResult, superseded: bool) -> QcResultOut:
    test = qc_rules.TESTS[result.test]
    return QcResultOut(
        id=result.id,
        unit_id=result.unit_id,
        test=result.test,
        test_name=test.name,
        value=result.value,
        measure=test.unit,
        method=result.method,
        lot=result.lot,
        spec_version=result.spec_version,
        spec=result.spec_snapshot.get("text", ""),
        verdict=result.verdict,
        recorded_by=_person(result.recorded_by),
        recorded_at=result.recorded_at,
        corrects_id=result.corrects_id,
        reason=result.reason,
        superseded=superseded,
    )


def _deviation_out(deviation: Deviation) -> DeviationOut:
    return DeviationOut(
        id=deviation.id,
        unit_id=deviation.unit_id,
        kind=deviation.kind,
        description=deviation.description,
        qc_result_id=deviation.qc_result_id,
        opened_by=_person(deviation.opened_by),
        opened_at=deviation.opened_at,
        closed_at=deviation.closed_at,
        closed_by=_person(deviation.closed_by) if deviation.closed_by else None,
        decision=deviation.decision,
        decision_note=deviation.decision_note,
    )


def unit_qc_out(unit: Unit) -> UnitQcOut:
    results = qc.results_of(unit)
    replaced = qc.superseded_ids(results)
    status = qc.qc_status(unit)
    return UnitQcOut(
        unit_id=unit.id,
        identifier=unit.din,
        product_type=unit.unit_type,
        results=[qc_result_out(r, r.id in replaced) for r in results],
        specs=[spec_out(s) for s in status.specs],
        readiness=readiness_out(status.readiness),
        deviations=[_deviation_out(d) for d in qc.deviations_of(unit)],
    )


def release_queue_item_out(unit: Unit, viewer: User) -> ReleaseQueueItemOut:
    return ReleaseQueueItemOut(
        unit=unit_out(unit),
        readiness=readiness_out(qc.qc_status(unit).readiness),
        deviations=qc.deviation_count(unit),
        open_deviations=qc.deviation_count(unit, open_only=True),
        expires_at=unit.expires_at,
        hands_on=sorted(release.hands_on(unit, viewer)),
    )


def quick_verify_out(found: QuickCheck) -> QuickVerifyOut:
    anchor, verdict = found.anchor, verify_out(found.result)
    return QuickVerifyOut(
        **verdict.model_dump(),
        from_seq=anchor.seq,
        receipt=ReceiptRefOut(id=anchor.receipt_id, seq=anchor.seq, issued_at=anchor.issued_at),
        full_verification=FullVerificationOut(
            job_id=anchor.job_id, verified_at=anchor.verified_at, head_seq=anchor.verified_seq
        ),
        summary=found.summary,
    )


def verify_out(result: VerifyResult) -> VerifyOut:
    found = result.first_break
    return VerifyOut(
        intact=result.intact,
        checked=result.checked,
        head_seq=result.last_seq,
        first_break=(
            ChainBreakOut(seq=found.seq, entry_id=found.entry_id, problem=found.problem)
            if found
            else None
        ),
    )
