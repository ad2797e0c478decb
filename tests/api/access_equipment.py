"""The API route × role table's rows for the equipment register: endpoint name ->
``Endpoint``, and the makers of any placeholder the paths name beyond the table's own
({id}, {product}, {patient}, {location}, {job} …): name -> maker(users, role, unit)."""

from __future__ import annotations

from .access import Endpoint

READERS = frozenset({"technician", "qa", "admin"})
EDITORS = frozenset({"admin", "qa"})
RECORDERS = frozenset({"technician", "qa"})


def an_item(users, role, unit) -> int:
    """A centrifuge QA registered, in service."""
    from lims.services.materials import equipment

    item = equipment.register_equipment(
        {"name": "Centrifuge 1", "kind": "centrifuge", "calibration_interval_days": 365},
        users["qa"],
    )
    return item.id


def _calibration() -> dict:
    from lims.services.materials.equipment import local_today

    return {
        "kind": "calibration",
        "performed_on": local_today().isoformat(),
        "performed_by": "Cal Services Ltd",
        "certificate_ref": "CERT-1",
    }


ENDPOINTS: dict[str, Endpoint] = {
    "api.list_equipment": Endpoint("GET", "/equipment", READERS),
    "api.register_equipment": Endpoint(
        "POST",
        "/equipment",
        EDITORS,
        201,
        body=lambda: {"name": "Fridge 1", "kind": "refrigerator"},
    ),
    "api.get_equipment": Endpoint("GET", "/equipment/{equipment}", READERS),
    "api.record_equipment": Endpoint(
        "POST", "/equipment/{equipment}/calibrations", RECORDERS, 201, body=_calibration
    ),
    "api.set_equipment_status": Endpoint(
        "POST",
        "/equipment/{equipment}/status",
        RECORDERS,
        body=lambda: {"status": "out_of_service", "reason": "door seal broken"},
    ),
    "api.equipment_units": Endpoint("GET", "/equipment/{equipment}/units", READERS),
}
ROWS: dict = {"equipment": an_item}
