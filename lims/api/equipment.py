"""The equipment register on the ``api`` blueprint: the list, one item, registering, recording
a calibration, qualification or maintenance, the status, and every unit an item touched.
Same service and rules as the pages (``services.materials.equipment``)."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from ..domain.materials import EQUIPMENT_KINDS
from ..models import Equipment, EquipmentRecord, User
from ..security import roles_required
from ..services.materials import equipment
from ..services.materials.registry import get_equipment as find_equipment
from . import bp
from .body import json_object, query
from .equipment_doc import (
    EquipmentDetailOut,
    EquipmentListOut,
    EquipmentOut,
    EquipmentQuery,
    EquipmentRecordOut,
    RecordedOut,
    UnitUseOut,
    UnitUsesOut,
    UsesQuery,
)
from .respond import json_response
from .schemas import LocationOut, PersonOut


def _actor() -> User:
    return current_user._get_current_object()


def _item(item: Equipment) -> dict:
    due = equipment.due_state(item)
    place = item.location
    return {
        "id": item.id,
        "code": item.code,
        "name": item.name,
        "kind": item.kind,
        "kind_name": EQUIPMENT_KINDS.get(item.kind, item.kind),
        "model": item.model,
        "serial_number": item.serial_number,
        "location": LocationOut(id=place.id, code=place.code, name=place.name, path=place.path)
        if place
        else None,
        "status": item.status,
        "status_reason": item.status_reason,
        "calibration_interval_days": item.calibration_interval_days,
        "calibration_valid_until": item.calibration_valid_until,
        "maintenance_interval_days": item.maintenance_interval_days,
        "maintenance_due_on": item.maintenance_due_on,
        "usable_today": due.usable,
        "problem": due.problem,
        "calibration_warning": due.calibration,
        "maintenance_warning": due.maintenance,
        "created_at": item.created_at,
        "created_by": PersonOut(id=item.created_by.id, name=item.created_by.full_name),
    }


def equipment_out(item: Equipment) -> EquipmentOut:
    return EquipmentOut(**_item(item))


def record_out(r: EquipmentRecord) -> EquipmentRecordOut:
    return EquipmentRecordOut(
        id=r.id,
        equipment_id=r.equipment_id,
        kind=r.kind,
        performed_on=r.performed_on,
        performed_by=r.performed_by,
        certificate_ref=r.certificate_ref,
        valid_until=r.valid_until,
        notes=r.notes,
        recorded_at=r.recorded_at,
        recorded_by=PersonOut(id=r.recorded_by.id, name=r.recorded_by.full_name),
    )


def detail_out(item: Equipment) -> EquipmentDetailOut:
    return EquipmentDetailOut(
        **_item(item), records=[record_out(r) for r in equipment.records_of(item)]
    )


@bp.get("/equipment")
@roles_required(*equipment.READERS)
def list_equipment():
    params = query(EquipmentQuery)
    items = equipment.list_equipment(kind=params.kind, status=params.status)
    return json_response(EquipmentListOut(items=[equipment_out(i) for i in items]))


@bp.post("/equipment")
@roles_required(*equipment.EDITORS)
def register_equipment():
    item = equipment.register_equipment(json_object(), _actor())
    location = url_for("api.get_equipment", equipment_id=item.id)
    return json_response(detail_out(item), 201, Location=location)


@bp.get("/equipment/<id:equipment_id>")
@roles_required(*equipment.READERS)
def get_equipment(equipment_id: int):
    return json_response(detail_out(find_equipment(equipment_id)))


@bp.post("/equipment/<id:equipment_id>/calibrations")
@roles_required(*equipment.RECORDERS)
def record_equipment(equipment_id: int):
    entry = equipment.record(equipment_id, json_object(), _actor())
    item = find_equipment(equipment_id)
    return json_response(RecordedOut(record=record_out(entry), equipment=equipment_out(item)), 201)


@bp.post("/equipment/<id:equipment_id>/status")
@roles_required(*equipment.RECORDERS)
def set_equipment_status(equipment_id: int):
    item = equipment.set_status(equipment_id, json_object(), _actor())
    return json_response(equipment_out(item))


@bp.get("/equipment/<id:equipment_id>/units")
@roles_required(*equipment.READERS)
def equipment_units(equipment_id: int):
    item = find_equipment(equipment_id)
    params = query(UsesQuery)
    found = equipment.units_touched(
        item, _actor(), page=params.page, per_page=params.per_page, clamp=False
    )
    return json_response(
        UnitUsesOut(
            items=[
                UnitUseOut(
                    use_id=use.id,
                    unit_id=unit.id,
                    eye_readable=unit.eye_readable,
                    product_code=unit.product_code,
                    division=unit.division,
                    type=unit.unit_type,
                    status=unit.status,
                    action=use.action,
                    step=use.step,
                    used_at=use.used_at,
                    calibration_valid_until=use.calibration_valid_until,
                    deviation_id=use.deviation_id,
                    ledger_entry_id=use.ledger_entry_id,
                )
                for use, unit in found.rows
            ],
            page=found.page,
            per_page=found.per_page,
            total=found.total,
        )
    )
