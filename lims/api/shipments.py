"""Shipments between sites on the ``api`` blueprint; same service and rules as the pages
(``services.station.shipments``, decision 102)."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import current_user

from ..domain import shipments as words
from ..domain.roles import Role
from ..models import Shipment, User
from ..security import roles_required, signing_throttle
from ..services.station import shipment_pdf, shipments
from . import bp
from .body import body_first, json_object, query
from .respond import json_response
from .schemas import PersonOut
from .shipments_doc import ItemOut, ShipmentOut, ShipmentsOut, ShipmentsQuery, SiteRefOut

SHIPPERS = (Role.TECHNICIAN, Role.CLINICIAN)
ANYONE = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)


def _actor() -> User:
    return current_user._get_current_object()


def _person(user: User | None) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.full_name) if user is not None else None


def shipment_out(s: Shipment) -> ShipmentOut:
    condition = words.CONDITIONS[s.condition]
    return ShipmentOut(
        id=s.id,
        code=s.code,
        status=s.status,
        from_site=SiteRefOut(id=s.from_site.id, code=s.from_site.code, name=s.from_site.name),
        to_site=SiteRefOut(id=s.to_site.id, code=s.to_site.code, name=s.to_site.name),
        container=s.container,
        courier=s.courier,
        tracking_number=s.tracking_number,
        condition=s.condition,
        condition_label=condition.label,
        temperature_range=condition.range_text,
        logger_id=s.logger_id,
        note=s.note,
        created_by=_person(s.created_by),
        created_at=s.created_at,
        packed_by=_person(s.packed_by),
        checked_by=_person(s.checked_by),
        dispatched_at=s.dispatched_at,
        expected_by=s.expected_by,
        received_by=_person(s.received_by),
        received_at=s.received_at,
        arrival_temperature_c=s.arrival_temperature_c,
        receipt_note=s.receipt_note,
        discrepancies=s.discrepancies,
        items=[
            ItemOut(
                id=i.id,
                unit_id=i.unit_id,
                din=i.unit.din if i.unit else None,
                product_code=i.unit.product_code if i.unit else None,
                division=i.unit.division if i.unit else None,
                unit_type=i.unit.unit_type if i.unit else None,
                scanned=i.scanned,
                on_manifest=i.on_manifest,
                outcome=i.outcome,
                deviation_id=i.deviation_id,
            )
            for i in s.items
        ],
    )


def _answer(shipment: Shipment, status: int = 200):
    location = url_for("api.get_shipment", shipment_id=shipment.id)
    return json_response(shipment_out(shipment), status, Location=location)


@bp.get("/shipments")
@roles_required(*ANYONE)
def list_shipments():
    params = query(ShipmentsQuery)
    found = shipments.list_shipments(_actor(), params.status)
    return json_response(ShipmentsOut(items=[shipment_out(s) for s in found]))


@bp.post("/shipments")
@roles_required(*SHIPPERS)
def create_shipment():
    return _answer(shipments.create(json_object(), _actor()), 201)


@bp.get("/shipments/<id:shipment_id>")
@roles_required(*ANYONE)
def get_shipment(shipment_id: int):
    return json_response(shipment_out(shipments.get(shipment_id, _actor())))


@bp.post("/shipments/<id:shipment_id>/items")
@roles_required(*SHIPPERS)
def add_shipment_item(shipment_id: int):
    actor = _actor()
    shipments.add_item(shipment_id, json_object(), actor)
    return _answer(shipments.get(shipment_id, actor), 201)


@bp.post("/shipments/<id:shipment_id>/items/<id:item_id>/remove")
@roles_required(*SHIPPERS)
def remove_shipment_item(shipment_id: int, item_id: int):
    return _answer(shipments.remove_item(shipment_id, item_id, _actor()))


@bp.post("/shipments/<id:shipment_id>/dispatch")
@roles_required(*SHIPPERS)
@body_first
@signing_throttle  # the checker's password counts against the packer's budget, as on the page
def dispatch_shipment(shipment_id: int):
    return _answer(shipments.dispatch(shipment_id, json_object(), _actor()))


@bp.post("/shipments/<id:shipment_id>/receive")
@roles_required(*SHIPPERS)
def receive_shipment(shipment_id: int):
    return _answer(shipments.receive(shipment_id, json_object(), _actor()))


@bp.post("/shipments/<id:shipment_id>/cancel")
@roles_required(*SHIPPERS)
def cancel_shipment(shipment_id: int):
    return _answer(shipments.cancel(shipment_id, json_object(), _actor()))


def _pdf(body: bytes, name: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


@bp.get("/shipments/<id:shipment_id>/manifest")
@roles_required(*ANYONE)
def shipment_manifest(shipment_id: int):
    shipment = shipments.get(shipment_id, _actor())
    return _pdf(shipment_pdf.manifest_pdf(shipment), f"manifest-{shipment.code}")


@bp.get("/shipments/<id:shipment_id>/packing-list")
@roles_required(*ANYONE)
def shipment_packing_list(shipment_id: int):
    shipment = shipments.get(shipment_id, _actor())
    return _pdf(shipment_pdf.packing_list_pdf(shipment), f"packing-list-{shipment.code}")
