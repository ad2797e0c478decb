"""Models → API response shapes (``schemas``); reading only, never writing."""

from __future__ import annotations

import json
from typing import Any

from ..domain.ledger_chain import VerifyResult
from ..models import LedgerEntry, Location, Unit, User
from ..services.units import ActionResult, allowed_actions
from .schemas import (
    ActionResultOut,
    ActorOut,
    ChainBreakOut,
    LedgerEntryOut,
    LocationOut,
    PatientOut,
    PersonOut,
    UnitDetailOut,
    UnitOut,
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
        "received_at": unit.received_at,
        "processed_at": unit.processed_at,
        "expires_at": unit.expires_at,
        "custodian": PersonOut(id=custodian.id, name=custodian.full_name) if custodian else None,
        "location": _location_out(unit.location),
        "deviation": bool(unit.deviation),
        "version": unit.version,
        "patient": PatientOut(
            id=patient.id, mrn=patient.mrn, name=patient.name, wristband=patient.wristband
        ),
    }


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(**_unit_fields(unit))


def unit_detail_out(unit: Unit, viewer: User) -> UnitDetailOut:
    """The unit as one caller sees it: with what that caller may do to it now."""
    return UnitDetailOut(
        **_unit_fields(unit),
        allowed_actions=[a.name for a in allowed_actions(unit, viewer)],
        children=[child.id for child in unit.children],
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
