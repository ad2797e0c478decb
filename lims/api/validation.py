"""Validation reports on the ``api`` blueprint: the list, one report (JSON, or the report as
generated: HTML or PDF), and QA's signed approval. Same service and rules as the pages."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask_login import current_user

from ..domain.roles import Role
from ..models import User
from ..security import roles_required, signing_throttle
from ..services.audit import validation
from . import bp
from .body import body_first, json_object, query
from .respond import json_response
from .schemas import PersonOut
from .validation_doc import (
    ValidationReportDetailOut,
    ValidationReportListQuery,
    ValidationReportOut,
    ValidationReportPageOut,
    ValidationReportQuery,
)

READERS = (Role.QA, Role.ADMIN)


def _viewer() -> User:
    return current_user._get_current_object()


def _fields(found: validation.ReportView) -> dict:
    report = found.report
    return {
        "id": report.id,
        "generated_at": report.generated_at,
        "generated_by": report.generated_by,
        "version": report.version,
        "sha256": report.sha256,
        "intact": found.intact,
        "passed": report.passed,
        "failed": report.failed,
        "errors": found.errors,
        "skipped": report.skipped,
        "requirements_met": report.requirements_met,
        "requirements_total": report.requirements_total,
        "claimed_not_met": found.claimed_not_met,
        "pq": found.pq_status,
        "clean": found.clean,
        "problems": found.problems,
        "recorded_entry_id": report.recorded_entry_id,
        "approved_by": (
            PersonOut(id=report.approved_by.id, name=report.approved_by.full_name)
            if report.approved_by
            else None
        ),
        "approved_at": report.approved_at,
        "approved_entry_id": report.approved_entry_id,
    }


@bp.get("/validation-reports")
@roles_required(*READERS)
def list_validation_reports():
    params = query(ValidationReportListQuery)
    page = validation.list_reports(_viewer(), params.page, params.per_page)
    return json_response(
        ValidationReportPageOut(
            items=[ValidationReportOut(**_fields(row)) for row in page.rows],
            page=page.page,
            per_page=page.per_page,
            total=page.total,
        )
    )


@bp.get("/validation-reports/<id:report_id>")
@roles_required(*READERS)
def get_validation_report(report_id: int):
    params = query(ValidationReportQuery)
    found = validation.view(report_id, _viewer())
    report = found.report
    if params.format == "json":
        return json_response(ValidationReportDetailOut(**_fields(found), data=found.data))
    name = f"validation-report-{report.id}-{report.sha256[:12]}.{params.format}"
    body, mimetype = (
        (report.pdf, "application/pdf")
        if params.format == "pdf"
        else (report.html.encode("utf-8"), "text/html")
    )
    return FlaskResponse(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/validation-reports/<id:report_id>/approve")
@roles_required(Role.QA)
@body_first
@signing_throttle
def approve_validation_report(report_id: int):
    report = validation.approve(report_id, json_object(), _viewer())
    return json_response(ValidationReportOut(**_fields(validation.ReportView(report))))
