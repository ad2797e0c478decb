"""QA's equipment permit on the ``api`` blueprint: a deviation on a unit that lets its step use
an item the register refuses (``services.materials.uses.open_permit`` decides)."""

from __future__ import annotations

from flask_login import current_user

from ..domain.roles import Role
from ..security import roles_required
from ..services.materials import registry, uses
from . import bp
from .body import json_object, parse
from .permits_doc import PermitOut, PermitRequest
from .respond import json_response


@bp.post("/units/<id:unit_id>/equipment-permits")
@roles_required(Role.QA)
def permit_equipment(unit_id: int):
    body = parse(PermitRequest, json_object())
    deviation = uses.open_permit(
        unit_id, body.equipment, body.reason, current_user._get_current_object()
    )
    return json_response(
        PermitOut(
            deviation_id=deviation.id,
            unit_id=deviation.unit_id,
            equipment=registry.get_equipment(deviation.equipment_id or 0).code,
            description=deviation.description,
            opened_at=deviation.opened_at,
        ),
        201,
    )
