"""Reagent lots on the ``api`` blueprint: the register (list, receive, one lot), QA's signed
acceptance or rejection, and the recall look-up. Same service and rules as the pages."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from ..domain.roles import Role
from ..models import ReagentLot, User
from ..security import roles_required, signing_throttle
from ..services.materials import reagents
from . import bp
from .body import body_first, json_object, query
from .reagents_doc import (
    LotOut,
    LotPageOut,
    LotQuery,
    RecallOut,
    RecallQuery,
    RecallUnitOut,
    UseOut,
)
from .respond import json_response
from .schemas import PatientOut, PersonOut

READERS = (Role.TECHNICIAN, Role.QA, Role.ADMIN)
RECEIVERS = (Role.TECHNICIAN, Role.QA)


def _viewer() -> User:
    return current_user._get_current_object()


def _person(user: User | None) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.full_name) if user is not None else None


def lot_out(lot: ReagentLot) -> LotOut:
    state = reagents.state_of(lot)
    return LotOut(
        id=lot.id,
        code=lot.code,
        reagent=lot.reagent,
        product_name=lot.product_name,
        manufacturer=lot.manufacturer,
        lot_number=lot.lot_number,
        expires_on=lot.expires_on,
        storage=lot.storage,
        quantity_received=lot.quantity_received,
        quantity_remaining=lot.quantity_remaining,
        quantity_unit=lot.quantity_unit,
        coa_ref=lot.coa_ref,
        received_by=_person(lot.received_by),
        received_at=lot.received_at,
        accepted_by=_person(lot.accepted_by),
        accepted_at=lot.accepted_at,
        acceptance_entry_id=lot.acceptance_entry_id,
        flagged=lot.flagged,
        state=state,
        usable=state == "usable",
    )


@bp.get("/reagent-lots")
@roles_required(*READERS)
def list_reagent_lots():
    params = query(LotQuery)
    page = reagents.list_lots(
        _viewer(),
        reagent=params.reagent or "",
        state=params.state,
        page=params.page,
        per_page=params.per_page,
    )
    return json_response(
        LotPageOut(
            items=[lot_out(lot) for lot in page.rows],
            page=page.page,
            per_page=page.per_page,
            total=page.total,
        )
    )


@bp.post("/reagent-lots")
@roles_required(*RECEIVERS)
def receive_reagent_lot():
    lot = reagents.receive(json_object(), _viewer())
    location = url_for("api.get_reagent_lot", lot_id=lot.id)
    return json_response(lot_out(lot), 201, Location=location)


@bp.get("/reagent-lots/<id:lot_id>")
@roles_required(*READERS)
def get_reagent_lot(lot_id: int):
    return json_response(lot_out(reagents.find_lot(lot_id, _viewer())))


@bp.post("/reagent-lots/<id:lot_id>/accept")
@roles_required(Role.QA)
@body_first
@signing_throttle
def accept_reagent_lot(lot_id: int):
    return json_response(lot_out(reagents.accept(lot_id, json_object(), _viewer())))


@bp.post("/reagent-lots/<id:lot_id>/reject")
@roles_required(Role.QA)
@body_first
@signing_throttle
def reject_reagent_lot(lot_id: int):
    return json_response(lot_out(reagents.reject(lot_id, json_object(), _viewer())))


@bp.get("/reagent-lots/<id:lot_id>/units")
@roles_required(*READERS)
def reagent_lot_units(lot_id: int):
    params = query(RecallQuery)
    found = reagents.recall(lot_id, _viewer(), page=params.page, per_page=params.per_page)
    return json_response(
        RecallOut(
            lot=lot_out(found.lot),
            items=[
                RecallUnitOut(
                    id=row.unit.id,
                    identifier=row.unit.din,
                    check_character=row.unit.check_character,
                    eye_readable=row.unit.eye_readable,
                    product_code=row.unit.product_code,
                    division=row.unit.division,
                    type=row.unit.unit_type,
                    status=row.unit.status,
                    patient=PatientOut(
                        id=row.unit.patient.id,
                        mrn=row.unit.patient.mrn,
                        name=row.unit.patient.name,
                        wristband=row.unit.patient.wristband,
                    ),
                    direct=row.direct,
                    via_unit_id=row.via.id if row.via else None,
                    uses=[
                        UseOut(
                            id=use.id,
                            action=use.action,
                            step=use.step,
                            quantity=use.quantity,
                            used_at=use.used_at,
                            ledger_entry_id=use.ledger_entry_id,
                        )
                        for use in row.uses
                    ],
                )
                for row in found.rows
            ],
            page=found.page,
            per_page=found.per_page,
            total=found.total,
            direct=found.direct,
            patients=found.patients,
        )
    )
