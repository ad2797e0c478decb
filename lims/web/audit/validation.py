"""Validation reports under Audit: the list (when, version, tests, requirements, digest, who
approved), one report exactly as generated (its own HTML, opened sandboxed), its PDF and
data, and QA's signed approval. QA and admin read; QA signs (the password again, meaning
approved; a justification when the report is not clean)."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import User
from ...security import note_refusal, roles_required, signing_throttle
from ...services.audit import validation
from ..headers import inline_svg, sandbox
from ..units.base_forms import ServiceForm
from . import bp
from .access import AUDITORS

PASSWORD_INPUT = {
    "autocomplete": "current-password",
    "maxlength": 1024,
    "autocapitalize": "none",
    "spellcheck": "false",
}


class ApproveReportForm(ServiceForm):
    password = PasswordField(
        "Your password",
        description="Your signature: enter your password again.",
        render_kw=PASSWORD_INPUT,
    )
    meaning = RadioField(
        "Meaning of your signature",
        choices=[SelectChoice(validation.MEANING, validation.MEANING)],
        validate_choice=False,
        default=validation.MEANING,
    )
    justification = TextAreaField(
        "Justification",
        description="Required when the report is not clean: why it is approved as it is "
        "(the signature covers it).",
        render_kw={"rows": 3, "maxlength": validation.JUSTIFICATION_MAX},
    )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "password": self.password.data or "",
            "meaning": self.meaning.data or None,
        }
        if (self.justification.data or "").strip():
            data["justification"] = self.justification.data
        return data


def _viewer() -> User:
    return current_user._get_current_object()


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), validation.MAX_PAGE))
    except ValueError:
        return 1


def _list_page(
    *,
    form: ApproveReportForm | None = None,
    deciding: int | None = None,
    error: str | None = None,
) -> str:
    viewer = _viewer()
    page = validation.list_reports(viewer, _page_number(request.args.get("page")))
    return render_template(
        "audit/validation.html",
        page=page,
        form=form or ApproveReportForm(formdata=None),
        deciding=deciding,
        error=error,
        may_sign=viewer.role == Role.QA.value,
    )


@bp.get("/validation")
@roles_required(*AUDITORS)
def validation_reports() -> ResponseReturnValue:
    return _list_page()


@bp.get("/validation/<id:report_id>")
@roles_required(*AUDITORS)
def validation_report(report_id: int) -> ResponseReturnValue:
    """The report's own HTML as generated: a document of its own, opened sandboxed (its inline
    style carries this answer's nonce; nothing else in it may run or load)."""
    report = validation.get_report(report_id, _viewer())
    sandbox()
    return Response(str(inline_svg(report.html)), mimetype="text/html")


@bp.get("/validation/<id:report_id>.pdf")
@roles_required(*AUDITORS)
def validation_report_pdf(report_id: int) -> ResponseReturnValue:
    report = validation.get_report(report_id, _viewer())
    name = f"validation-report-{report.id}-{report.sha256[:12]}.pdf"
    return Response(
        report.pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/validation/<id:report_id>.json")
@roles_required(*AUDITORS)
def validation_report_json(report_id: int) -> ResponseReturnValue:
    """The report's data exactly as hashed: its SHA-256 is the report's digest."""
    report = validation.get_report(report_id, _viewer())
    name = f"validation-report-{report.id}-{report.sha256[:12]}.json"
    return Response(
        report.content,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/validation/<id:report_id>/approve", methods=["GET", "POST"])
@roles_required(Role.QA)
@signing_throttle
def approve_validation_report(report_id: int) -> ResponseReturnValue:
    """QA's signed approval; a GET shows the list with this report's form open."""
    report = validation.get_report(report_id, _viewer())
    form = ApproveReportForm()
    if not form.is_submitted():
        return _list_page(form=form, deciding=report.id)
    try:
        validation.approve(report.id, form.to_data(), _viewer())
    except ServiceError as exc:
        note_refusal(exc.code)
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was signed: see the marked fields."
            if placed and all(placed)
            else f"Nothing was signed: {exc.message}."
        )
        return _list_page(form=form, deciding=report.id, error=error), exc.http_status
    flash(f"Validation report {report.id} approved. Signed.", "success")
    return redirect(url_for("audit.validation_reports"))
