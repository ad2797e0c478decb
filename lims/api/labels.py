"""Label endpoints: ``GET /units|patients|locations/<id>/label`` with the query
``format=&stock=&copies=&page=&dpi=&reason=``.

SVG is a preview; PDF and ZPL are prints and are recorded in the ledger by the service,
which also decides who may print what (the decorators say the same for the route tables).
"""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from ..domain.roles import Role
from ..security import roles_required
from ..services.station import labels
from . import bp
from .body import query


def _send(printed: labels.PrintedLabel) -> Response:
    response = Response(printed.content, mimetype=printed.mimetype)
    disposition = "inline" if printed.action is None else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{printed.filename}"'
    if printed.action:
        response.headers["X-Label-Action"] = printed.action
    return response


@bp.get("/units/<id:unit_id>/label")
@roles_required(Role.TECHNICIAN, Role.QA, Role.ADMIN)
def unit_label(unit_id: int) -> Response:
    return _send(labels.print_unit_label(unit_id, query(labels.LabelOptions), current_user))


@bp.get("/patients/<id:patient_id>/label")
@roles_required(Role.TECHNICIAN, Role.CLINICIAN, Role.QA)
def patient_label(patient_id: int) -> Response:
    return _send(labels.print_patient_label(patient_id, query(labels.LabelOptions), current_user))


@bp.get("/locations/<id:location_id>/label")
@roles_required(Role.TECHNICIAN, Role.QA, Role.ADMIN)
def location_label(location_id: int) -> Response:
    options = query(labels.LabelOptions)
    return _send(labels.print_location_label(location_id, options, current_user))
