"""The OpenAPI operations and schemas of the equipment register; ``openapi`` joins them to the
rest. The request bodies are the equipment service's own models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..domain.materials import EQUIPMENT_KINDS, EQUIPMENT_STATUSES, RECORD_KINDS
from ..services.materials.equipment import EquipmentFields, RecordFields, StatusFields
from . import rules_doc
from .operation import Operation, Rule
from .schemas import MAX_PER_PAGE, LocationOut, PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
Warning = Literal["7d", "1d", "overdue"]


class EquipmentQuery(Request):
    """Filters of the register; every one given must match. By code."""

    kind: Literal[tuple(EQUIPMENT_KINDS)] | None = Field(  # type: ignore[valid-type]
        None, description="one kind of equipment"
    )
    status: Literal[EQUIPMENT_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="in_service or out_of_service"
    )


class UsesQuery(Request):
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


class EquipmentOut(Response):
    id: int
    code: str = Field(
        description="the register code printed on its label (E + facility + 6 digits + check)"
    )
    name: str
    kind: str
    kind_name: str
    model: str | None
    serial_number: str | None
    location: LocationOut | None
    status: Literal[EQUIPMENT_STATUSES]  # type: ignore[valid-type]
    status_reason: str | None
    calibration_interval_days: int | None
    calibration_valid_until: date | None = Field(
        description="the last day its latest calibration or qualification is valid"
    )
    maintenance_interval_days: int | None
    maintenance_due_on: date | None
    usable_today: bool = Field(description="in service and, if calibrated, within its calibration")
    problem: str | None = Field(description="why it may not be used on a unit today")
    calibration_warning: Warning | None = Field(
        description="7d or 1d: it lapses within that many days; overdue: it has lapsed"
    )
    maintenance_warning: Warning | None = Field(
        description="7d or 1d: due within that many days; overdue: past due"
    )
    created_at: UtcTime
    created_by: PersonOut


class EquipmentRecordOut(Response):
    id: int
    equipment_id: int
    kind: Literal[RECORD_KINDS]  # type: ignore[valid-type]
    performed_on: date
    performed_by: str
    certificate_ref: str | None
    valid_until: date | None
    notes: str | None
    recorded_at: UtcTime
    recorded_by: PersonOut


class EquipmentDetailOut(EquipmentOut):
    records: list[EquipmentRecordOut] = Field(
        description="every calibration, qualification and maintenance, latest first"
    )


class EquipmentListOut(Response):
    items: list[EquipmentOut]


class RecordedOut(Response):
    record: EquipmentRecordOut
    equipment: EquipmentOut = Field(description="the item as the record leaves it")


class UnitUseOut(Response):
    use_id: int
    unit_id: int
    eye_readable: str
    product_code: str
    division: str
    type: str
    status: str
    action: str = Field(description="the action that used the item")
    step: str | None = Field(description="the processing step, if one")
    used_at: UtcTime
    calibration_valid_until: date | None = Field(
        description="the item's calibration valid-until as it was when used"
    )
    deviation_id: int | None = Field(description="the deviation that permitted the use, if one")
    ledger_entry_id: int | None


class UnitUsesOut(Response):
    items: list[UnitUseOut] = Field(description="newest use first")
    page: int
    per_page: int
    total: int


EQUIPMENT_RULES = (
    Rule(
        "location",
        (*rules_doc.CODE_PROBLEMS, "invalid_code", "wrong_kind", "invalid_fields"),
        "a known location's code as printed on its label, not a box position",
    ),
    Rule(
        "serial_number",
        ("invalid_fields",),
        "not the serial number of another item of that kind and model",
    ),
)
RECORD_RULES = (
    Rule("performed_on", ("invalid_fields",), "not in the future, not more than 20 years ago"),
    Rule(
        "valid_until",
        ("invalid_fields",),
        "calibration or qualification: after performed_on and at most 3650 days after it; "
        "required when the item has no calibration interval; absent for maintenance",
    ),
    Rule("certificate_ref", ("invalid_fields",), "required for a calibration or qualification"),
)
STATUS_RULES = (Rule("reason", ("invalid_fields",), "required to take an item out of service"),)

ITEM_LINKS = {
    name: {"equipment_id": "$response.body#/id"}
    for name in ("get_equipment", "record_equipment", "set_equipment_status", "equipment_units")
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/equipment",
        "list_equipment",
        "The equipment register by code, each item with its status, calibration and "
        "maintenance dates and today's warnings",
        "EquipmentListOut",
        query="EquipmentQuery",
        errors=(401, 403, 422),
    ),
    Operation(
        "post",
        "/equipment",
        "register_equipment",
        "Register an item: it gets a register code for its label and is in service; an item "
        "already registered (same kind, model and serial number) is 409 duplicate_equipment",
        "EquipmentDetailOut",
        201,
        request="EquipmentFields",
        errors=(*BODY_ERRORS, 401, 403, 409),
        headers={"Location": "the item's address"},
        rules=EQUIPMENT_RULES,
        links=ITEM_LINKS,
    ),
    Operation(
        "get",
        "/equipment/{equipment_id}",
        "get_equipment",
        "One item with every calibration, qualification and maintenance record",
        "EquipmentDetailOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/equipment/{equipment_id}/calibrations",
        "record_equipment",
        "Record a calibration, qualification or maintenance as done (records are never "
        "changed); the item's calibration valid-until or next maintenance follows the latest "
        "record. The same record twice is 409 duplicate_record",
        "RecordedOut",
        201,
        request="RecordFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=RECORD_RULES,
    ),
    Operation(
        "post",
        "/equipment/{equipment_id}/status",
        "set_equipment_status",
        "Take an item out of service (with a reason) or return it to service; returning it "
        "with a lapsed calibration is 409 calibration_lapsed, the status it has is 409 "
        "no_change",
        "EquipmentOut",
        request="StatusFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=STATUS_RULES,
    ),
    Operation(
        "get",
        "/equipment/{equipment_id}/units",
        "equipment_units",
        "Every unit the item touched (for a recall), newest first, with its calibration "
        "valid-until as recorded at the moment of use; exact pages",
        "UnitUsesOut",
        query="UsesQuery",
        errors=(401, 403, 404, 422),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (
    EquipmentQuery,
    UsesQuery,
    EquipmentFields,
    RecordFields,
    StatusFields,
)
OUTPUTS: tuple[type[BaseModel], ...] = (
    EquipmentOut,
    EquipmentDetailOut,
    EquipmentListOut,
    RecordedOut,
    UnitUsesOut,
)
