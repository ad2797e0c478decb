"""Ledger search (by unit, patient, user, action, status and date range, paginated by seq) and a unit's chain-of-custody report on screen, as CSV and as PDF.

Thin: the search and the report are ``services.audit`` and ``services.custody_report``;
a filter that names nothing, or cannot be read, comes back as a message on the form.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.lifecycle import Status
from ...security import roles_required
from ...services.audit import custody_pdf, custody_report
from ...services.audit import ledger_search as audit
from ...timefmt import site_zone
from . import bp
from .access import AUDITORS

PAGE_SIZE = 50


def _criteria() -> audit.Criteria:
    args = request.args
    names = ("unit", "patient", "user", "action", "status", "since", "until", "cursor")
    return audit.Criteria(**{name: args.get(name, "")[:200] for name in names}, limit=PAGE_SIZE)


@bp.get("/ledger")
@roles_required(*AUDITORS)
def ledger_search() -> ResponseReturnValue:
    criteria = _criteria()
    page, error, fields, status = None, None, {}, 200
    try:  # no filter: the newest entries of the whole ledger
        page = audit.search(criteria, site_zone())
    except ServiceError as exc:
        error, fields, status = exc.message, exc.fields, exc.http_status
    return render_template(
        "audit/search.html",
        criteria=criteria,
        page=page,
        error=error,
        fields=fields,
        actions=audit.action_choices(),
        statuses=list(Status),
        action_label=audit.action_label,
    ), status


@bp.get("/ledger.csv")
@roles_required(*AUDITORS)
def ledger_extract() -> ResponseReturnValue:
    """The search's every matching entry (up to ``audit.EXPORT_MAX``) as CSV."""
    criteria = _criteria()
    try:
        page, more = audit.search_all(criteria, site_zone())
    except ServiceError as exc:
        return render_template(
            "audit/search.html",
            criteria=criteria,
            page=None,
            error=exc.message,
            fields=exc.fields,
            actions=audit.action_choices(),
            statuses=list(Status),
            action_label=audit.action_label,
        ), exc.http_status
    body = custody_report.extract_csv(
        page.entries, page.described, more=more, generated_by=current_user._get_current_object()
    )
    return _download(body, "text/csv", "ledger-search.csv")


def _report():
    return custody_report.build(request.view_args["unit_id"], current_user._get_current_object())


@bp.get("/units/<id:unit_id>/report")
@roles_required(*AUDITORS)
def unit_report(unit_id: int) -> ResponseReturnValue:
    return render_template("audit/report.html", report=_report())


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/units/<id:unit_id>/report.csv")
@roles_required(*AUDITORS)
def unit_report_csv(unit_id: int) -> ResponseReturnValue:
    report = _report()
    return _download(custody_report.report_csv(report), "text/csv", f"{report.filename}.csv")


@bp.get("/units/<id:unit_id>/report.pdf")
@roles_required(*AUDITORS)
def unit_report_pdf(unit_id: int) -> ResponseReturnValue:
    report = _report()
    return _download(custody_pdf.render_pdf(report), "application/pdf", f"{report.filename}.pdf")
