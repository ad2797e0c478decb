"""Adverse reactions on the ``api`` blueprint; the same service and rules as the pages
(``services.audit.adverse_reactions``, decision 113)."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import url_for
from flask_login import current_user

from ..domain.roles import Role
from ..models import AdverseReaction, User
from ..security import roles_required, signing_throttle
from ..services import access
from ..services.audit import adverse_reaction_pdf, adverse_reactions
from . import bp
from .adverse_reactions_doc import (
    AdverseReactionOut,
    AdverseReactionsOut,
    AdverseReactionsQuery,
    ReactionNoteOut,
    ReactionPatientOut,
    ReactionProductOut,
    ReactionSignatureOut,
)
from .body import body_first, json_object, query
from .respond import json_response
from .schemas import PersonOut

VIEWERS = (Role.CLINICIAN, Role.QA, Role.ADMIN)
READERS = (Role.QA, Role.ADMIN)


def _actor() -> User:
    return current_user._get_current_object()


def _person(user: User | None) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.full_name) if user is not None else None


def reaction_out(r: AdverseReaction) -> AdverseReactionOut:
    unit, sig = r.unit, r.signature
    return AdverseReactionOut(
        id=r.id,
        status=r.status,
        product=ReactionProductOut(
            id=unit.id,
            din=unit.din,
            product_code=unit.product_code,
            division=unit.division,
            unit_type=unit.unit_type,
            chain_of_identity=unit.chain_of_identity,
            administered_at=unit.administered_at,
        ),
        patient=ReactionPatientOut(id=r.patient_id, mrn=r.patient.mrn),
        onset_at=r.onset_at,
        description=r.description,
        severity=r.severity,
        relation=r.relation,
        reported_by=_person(r.reported_by),
        reported_at=r.reported_at,
        investigation=[
            ReactionNoteOut(at=n.at, by=n.by, text=n.text) for n in adverse_reactions.notes_of(r)
        ],
        outcome=r.outcome,
        closed_by=_person(r.closed_by),
        closed_at=r.closed_at,
        signature=(
            ReactionSignatureOut(
                name=sig.printed_name,
                meaning=sig.meaning,
                signed_at=sig.signed_at,
                record_hash=sig.record_hash,
                intact=adverse_reactions.signature_matches(r),
            )
            if sig is not None
            else None
        ),
    )


def _answer(reaction: AdverseReaction, status: int = 200):
    location = url_for("api.get_adverse_reaction", reaction_id=reaction.id)
    return json_response(reaction_out(reaction), status, Location=location)


@bp.post("/units/<id:unit_id>/adverse-reactions")
@roles_required(Role.CLINICIAN)
def report_adverse_reaction(unit_id: int):
    return _answer(adverse_reactions.report(unit_id, json_object(), _actor()), 201)


@bp.get("/units/<id:unit_id>/adverse-reactions")
@roles_required(*VIEWERS)
def unit_adverse_reactions(unit_id: int):
    viewer = _actor()
    unit = access.require_unit(viewer, unit_id)
    found = adverse_reactions.of_lot(unit, viewer)
    return json_response(
        AdverseReactionsOut(
            items=[reaction_out(r) for r in found],
            open_count=sum(r.status == "open" for r in found),
        )
    )


@bp.get("/adverse-reactions")
@roles_required(*READERS)
def list_adverse_reactions():
    params = query(AdverseReactionsQuery)
    found = adverse_reactions.list_reactions(
        _actor(), status=params.status, severity=params.severity or ""
    )
    return json_response(
        AdverseReactionsOut(
            items=[reaction_out(r) for r in found.rows], open_count=found.open_count
        )
    )


@bp.get("/adverse-reactions/<id:reaction_id>")
@roles_required(*VIEWERS)
def get_adverse_reaction(reaction_id: int):
    return json_response(reaction_out(adverse_reactions.get(reaction_id, _actor())))


@bp.post("/adverse-reactions/<id:reaction_id>/investigation")
@roles_required(Role.QA)
def investigate_adverse_reaction(reaction_id: int):
    return _answer(adverse_reactions.add_note(reaction_id, json_object(), _actor()))


@bp.post("/adverse-reactions/<id:reaction_id>/close")
@roles_required(Role.QA)
@body_first
@signing_throttle
def close_adverse_reaction(reaction_id: int):
    return _answer(adverse_reactions.close(reaction_id, json_object(), _actor()))


@bp.get("/adverse-reactions/<id:reaction_id>/report")
@roles_required(*READERS)
def adverse_reaction_report(reaction_id: int):
    reaction = adverse_reactions.get(reaction_id, _actor())
    response = FlaskResponse(adverse_reaction_pdf.report_pdf(reaction), mimetype="application/pdf")
    name = f"adverse-reaction-{reaction.id}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response
