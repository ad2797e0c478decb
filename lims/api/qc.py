"""QC and release routes on the ``api`` blueprint: a unit's results against its
specifications, the specifications themselves (admins publish new versions), and QA's
release queue.

Thin like the other routes: ``lims.services.qc`` judges and stores; these only read
requests and shape answers.
"""

from __future__ import annotations

from flask_login import current_user

from ..domain.roles import Role
from ..security import roles_required
from ..services import access
from ..services.actions import qc
from . import bp
from .body import json_object, parse, query
from .respond import json_response
from .schemas import PRODUCT_TYPES, ReleaseQueueOut, SpecQuery, SpecRequest, SpecsOut
from .serialise import (
    product_specs_out,
    release_queue_item_out,
    spec_detail_out,
    unit_qc_out,
)


@bp.get("/units/<id:unit_id>/qc")
@roles_required()
def unit_qc(unit_id: int):
    """Every result that applies to the product, its specs in force and its readiness."""
    unit = access.require_unit(current_user._get_current_object(), unit_id)
    qc.require_product(unit)
    return json_response(unit_qc_out(unit))


@bp.get("/qc/specs")
@roles_required()
def list_qc_specs():
    params = query(SpecQuery)
    types = [params.type] if params.type else PRODUCT_TYPES
    return json_response(SpecsOut(product_types=[product_specs_out(t) for t in types]))


@bp.post("/qc/specs")
@roles_required(Role.ADMIN)
def publish_qc_spec():
    """Publish the next version of one specification; results keep the version they had."""
    spec = parse(SpecRequest, json_object())
    terms = spec.model_dump(exclude={"product_type", "test", "reason"}, exclude_none=True)
    actor = current_user._get_current_object()
    qc.publish_spec(spec.product_type, spec.test, terms, spec.reason, actor)
    return json_response(spec_detail_out(spec.product_type, spec.test), 201)


@bp.get("/release-queue")
@roles_required(Role.QA)
def release_queue():
    viewer = current_user._get_current_object()
    items = [release_queue_item_out(unit, viewer) for unit in qc.release_queue()]
    return json_response(ReleaseQueueOut(items=items))
