"""Adverse reactions' pages: parse → call ``services.audit.adverse_reactions`` → render."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain import treatment as rules
from ...domain.errors import Invalid, ServiceError
from ...domain.lifecycle import Status
from ...domain.roles import Role
from ...domain.signatures import manifestation
from ...models import AdverseReaction, Signature, Unit, User
from ...models.types import utcnow
from ...security import note_refusal, roles_required, signing_throttle
from ...services import access
from ...services.audit import adverse_reaction_pdf, adverse_reactions
from ...timefmt import local_time
from . import bp
from .forms import CloseReactionForm, NoteForm, ReportReactionForm

VIEWERS = (Role.CLINICIAN, Role.QA, Role.ADMIN)
READERS = (Role.QA, Role.ADMIN)


def _viewer() -> User:
    return current_user._get_current_object()


def _manifest(signature: Signature) -> str:
    return manifestation(signature.printed_name, signature.meaning, local_time(signature.signed_at))


# ---------------------------------------------------------------------------- reporting


def _report_page(unit: Unit, form: ReportReactionForm, status: int = 200, **extra):
    return render_template(
        "reactions/report.html",
        unit=unit,
        form=form,
        administered=unit.status == Status.ADMINISTERED.value,
        **extra,
    ), status


@bp.route("/units/<id:unit_id>/adverse-reactions/new", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN)
def report(unit_id: int) -> ResponseReturnValue:
    """The clinician's report, reached from the unit page of a product given to the patient."""
    unit = access.require_unit(_viewer(), unit_id)
    form = ReportReactionForm(zone=current_app.config["TIMEZONE"])
    if unit.status != Status.ADMINISTERED.value:
        return _report_page(unit, form, 409)
    if not form.is_submitted():
        form.prefill(unit.patient_id, utcnow())
        return _report_page(unit, form)
    try:
        found = adverse_reactions.report(unit.id, form.to_data(), _viewer())
    except ServiceError as exc:
        placed = exc.code == "invalid_fields" and form.show_errors(exc.fields)
        message = "Nothing was reported: see the marked fields." if placed else exc.message
        return _report_page(unit, form, exc.http_status, error=message)
    flash(f"Adverse reaction #{found.id} reported; QA has been told.", "success")
    return redirect(url_for("reactions.detail", reaction_id=found.id))


# ---------------------------------------------------------------------------- QA's list


@bp.get("/audit/adverse-reactions")
@roles_required(*READERS)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "all")
    severity = request.args.get("severity", "")
    error, code, found = None, 200, None
    try:
        found = adverse_reactions.list_reactions(_viewer(), status=status, severity=severity)
    except Invalid as exc:
        error, code = exc.message, exc.http_status
    return render_template(
        "reactions/index.html",
        found=found,
        error=error,
        status=status if status in adverse_reactions.STATES else "all",
        severity=severity if severity in rules.SEVERITIES else "",
        severities=rules.SEVERITIES,
        label=adverse_reactions.label,
    ), code


# ---------------------------------------------------------------------------- one reaction


def _detail(reaction: AdverseReaction, status: int = 200, **extra):
    viewer = _viewer()
    extra.setdefault("note_form", NoteForm())
    return render_template(
        "reactions/detail.html",
        reaction=reaction,
        unit=reaction.unit,
        notes=adverse_reactions.notes_of(reaction),
        lot=[r for r in adverse_reactions.of_lot(reaction.unit, viewer) if r.id != reaction.id],
        intact=adverse_reactions.signature_matches(reaction),
        may_investigate=viewer.role == Role.QA and reaction.status == "open",
        may_read_report=viewer.role in READERS,
        label=adverse_reactions.label,
        manifest=_manifest,
        **extra,
    ), status


@bp.get("/audit/adverse-reactions/<id:reaction_id>")
@roles_required(*VIEWERS)
def detail(reaction_id: int) -> ResponseReturnValue:
    return _detail(adverse_reactions.get(reaction_id, _viewer()))


@bp.route("/audit/adverse-reactions/<id:reaction_id>/investigation", methods=["GET", "POST"])
@roles_required(Role.QA)
def investigate(reaction_id: int) -> ResponseReturnValue:
    """POST adds a note; GET (the address of a refused note opened again) is the page."""
    if request.method == "GET":
        return redirect(url_for("reactions.detail", reaction_id=reaction_id))
    form = NoteForm()
    try:
        adverse_reactions.add_note(reaction_id, form.to_data(), _viewer())
    except ServiceError as exc:
        reaction = adverse_reactions.get(reaction_id, _viewer())
        form.show_errors(exc.fields)
        return _detail(reaction, exc.http_status, note_form=form, error=exc.message)
    flash("Investigation note recorded.", "success")
    return redirect(url_for("reactions.detail", reaction_id=reaction_id))


@bp.route("/audit/adverse-reactions/<id:reaction_id>/close", methods=["GET", "POST"])
@roles_required(Role.QA)
@signing_throttle
def close(reaction_id: int) -> ResponseReturnValue:
    reaction = adverse_reactions.get(reaction_id, _viewer())
    form = CloseReactionForm()
    page = {
        "reaction": reaction,
        "unit": reaction.unit,
        "notes": adverse_reactions.notes_of(reaction),
        "label": adverse_reactions.label,
        "manifest": _manifest,
        "form": form,
    }
    if reaction.status != "open":
        return render_template("reactions/close.html", **page), 409
    if not form.is_submitted():
        form.prefill()
        return render_template("reactions/close.html", **page)
    try:
        adverse_reactions.close(reaction.id, form.to_data(), _viewer())
    except Invalid as exc:
        note_refusal(exc.code)  # a wrong password counts against the signer's budget
        form.show_errors(exc.fields)
        return render_template("reactions/close.html", error=exc.message, **page), 422
    except ServiceError as exc:
        return render_template("reactions/close.html", refusal=exc.message, **page), exc.http_status
    flash(f"Adverse reaction #{reaction_id} closed, signed.", "success")
    return redirect(url_for("reactions.detail", reaction_id=reaction_id))


@bp.get("/audit/adverse-reactions/<id:reaction_id>/report.pdf")
@roles_required(*READERS)
def report_pdf(reaction_id: int) -> ResponseReturnValue:
    reaction = adverse_reactions.get(reaction_id, _viewer())
    name = f"adverse-reaction-{reaction.id}.pdf"
    return Response(
        adverse_reaction_pdf.report_pdf(reaction),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
