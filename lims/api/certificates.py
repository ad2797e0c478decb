"""A unit's certificate of release on the ``api`` blueprint (decisions 85–86): JSON, or the
PDF (``?format=pdf`` or ``Accept: application/pdf``). ``services.audit.certificate`` decides
who may read which copy; any signed-in user who may see the unit gets the travelling copy."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from ..security import roles_required
from ..services.audit import certificate, certificate_pdf
from . import bp
from .body import query
from .certificates_doc import CertificateOut, CertificateQuery, FilePatientOut, ReplacedOut
from .respond import json_response

PDF = "application/pdf"


def _wants_pdf(params: CertificateQuery) -> bool:
    if params.format is not None:
        return params.format == "pdf"
    return request.accept_mimetypes.best_match(["application/json", PDF]) == PDF


@bp.get("/units/<id:unit_id>/certificate")
@roles_required()
def unit_certificate(unit_id: int):
    params = query(CertificateQuery)
    cert = certificate.read(
        current_user._get_current_object(), unit_id, params.number, params.copy_
    )
    if _wants_pdf(params):
        response = Response(certificate_pdf.render_pdf(cert), mimetype=PDF)
        response.headers["Content-Disposition"] = f'attachment; filename="{cert.filename}"'
        response.vary.add("Accept")
        return response
    replaces = cert.replaces
    patient = cert.patient
    answer = json_response(
        CertificateOut(
            unit_id=cert.row.unit_id,
            number=cert.number,
            numbers=[r.number for r in certificate.certificates_of(cert.row.unit_id)],
            issued_at=cert.row.issued_at,
            issued_by=cert.row.issued_by.full_name,
            reason=cert.row.reason,
            replaces=ReplacedOut(**replaces) if replaces else None,
            sha256=cert.row.sha256,
            intact=cert.intact,
            ledger_seq=cert.ledger_seq,
            copy_=cert.copy,
            patient=FilePatientOut(name=patient.name, mrn=patient.mrn, wristband=patient.wristband)
            if patient
            else None,
            content=cert.content,
        )
    )
    answer.vary.add("Accept")
    return answer
