"""Audit routes on the ``api`` blueprint: ledger search with cursor paging, and a unit's
chain-of-custody report as CSV or PDF. QA and admins only; the services do the work."""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from ..domain.roles import Role
from ..security import roles_required
from ..services.audit import custody_pdf, custody_report
from ..services.audit import ledger_search as audit
from ..timefmt import site_zone
from . import bp
from .audit_doc import LedgerPageOut, LedgerQuery, ReportQuery
from .body import query
from .respond import json_response
from .serialise import entry_out

AUDITORS = (Role.QA, Role.ADMIN)


@bp.get("/ledger")
@roles_required(*AUDITORS)
def search_ledger():
    params = query(LedgerQuery)
    criteria = audit.Criteria(
        **{k: v for k, v in params.model_dump(exclude={"limit"}).items() if v is not None},
        limit=params.limit,
    )
    page = audit.search(criteria, site_zone(), need_zone=True)
    return json_response(
        LedgerPageOut(
            items=[entry_out(e) for e in page.entries],
            next_cursor=str(page.next_cursor) if page.next_cursor else None,
            filters=page.described,
        )
    )


@bp.get("/units/<id:unit_id>/report")
@roles_required(*AUDITORS)
def unit_report(unit_id: int):
    params = query(ReportQuery)
    report = custody_report.build(unit_id, current_user._get_current_object())
    if params.format == "csv":
        body, mimetype = custody_report.report_csv(report), "text/csv"
    else:
        body, mimetype = custody_pdf.render_pdf(report), "application/pdf"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{report.filename}.{params.format}"'
    )
    response.headers["X-Chain-Check"] = "intact" if report.check.intact else "failed"
    return response
