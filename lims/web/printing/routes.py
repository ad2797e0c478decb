"""Print a label to the bench's printer with one key press, then follow the job: its page says
where it went and what became of it, takes the scan-back of the new label, and records a
wrong label's destruction. This workstation's name is set here too.

The printing service decides everything (roles, the printer, whether a reprint's reason is
needed, whether a scan matches); these views parse the forms, show its messages beside the
fields or as a flash, and redirect after a change so that a reload sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import Invalid, ServiceError
from ...domain.roles import Role
from ...models import PrintJob, User
from ...security import roles_required
from ...services.station import labels, printing
from ..redirects import local_target
from ..units.base_forms import UNREADABLE
from . import bp, station
from .forms import (
    TEMPLATE_WORDS,
    DestroyForm,
    PrintForm,
    ScanBackForm,
    WorkstationForm,
    refused,
)

UNIT_PRINTERS = tuple(labels.UNIT_ROLES)
WRISTBAND_PRINTERS = tuple(labels.WRISTBAND_ROLES)
LOCATION_PRINTERS = tuple(labels.LOCATION_ROLES)
ANYONE = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)
PENDING = ("queued", "sending")


def _actor() -> User:
    return current_user._get_current_object()


@bp.app_context_processor
def _printing_globals() -> dict:
    """What the unit page's and the station's "Print label" button need, on every page."""
    return {
        "unit_print_roles": {r.value for r in labels.UNIT_ROLES},
        "workstation_name": station.workstation,
        "label_template_words": TEMPLATE_WORDS,
    }


# ---------------------------------------------------------------------------- workstation


@bp.route("/station/workstation", methods=["GET", "POST"])
@roles_required()
def workstation() -> ResponseReturnValue:
    """Name this workstation (a cookie of this browser), so the print rules can choose its
    printer by name; without one they go by its network address."""
    form = WorkstationForm()
    back = local_target(request.args.get("next")) or url_for("printing.workstation")
    if not form.is_submitted():
        form.workstation.data = station.workstation() or ""
        return render_template("printing/workstation.html", form=form, back=back)
    name = None if form.forget.data else form.workstation.data
    try:
        chosen = printing.Station.of(name, None).workstation
    except Invalid as exc:
        error = refused(form, exc, "The name was not saved")
        page = render_template("printing/workstation.html", form=form, back=back, error=error)
        return page, exc.http_status
    if chosen:
        flash(f"This workstation is now called {chosen}.", "success")
    else:
        flash("This workstation has no name now: printers are chosen by its address.", "info")
    response = redirect(back)
    station.remember(response, chosen)
    return response


# ---------------------------------------------------------------------------- print


@dataclass(frozen=True)
class Kind:
    """What a print page prints: the service's subject, and where its record's page is."""

    subject: Callable[[User, object], printing.Subject]
    endpoint: str
    back: Callable[[int], str]


KINDS = {
    "unit": Kind(
        printing.unit_subject,
        "printing.print_unit",
        lambda ident: url_for("units.detail", unit_id=ident),
    ),
    "patient": Kind(
        printing.patient_subject,
        "printing.print_patient",
        lambda ident: url_for("scan.station_page"),
    ),
    "location": Kind(
        printing.location_subject,
        "printing.print_location",
        lambda ident: url_for("scan.station_page"),
    ),
}


def _print_page(
    kind: str, ident: int, form: PrintForm, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    actor = _actor()
    subject = KINDS[kind].subject(actor, ident)  # unknown or not visible: the 404 page
    here = station.current()
    chosen = printing.choose(subject.label.kind, here)
    page = render_template(
        "printing/print.html",
        kind=kind,
        ident=ident,
        subject=subject,
        template=subject.label.kind,
        form=form,
        chosen=chosen[0] if chosen else None,
        station=here,
        action=url_for(KINDS[kind].endpoint, ident=ident),
        back=KINDS[kind].back(ident),
        recent=printing.recent_jobs(actor, here, limit=5),
        error=error,
    )
    return page, status


def _print_form() -> PrintForm:
    return PrintForm(printers=printing.active_printers())


def _print(kind: str, ident: int) -> ResponseReturnValue:
    form = _print_form()  # CSRF is checked by CSRFProtect before the view runs
    if not form.validate():
        return _print_page(kind, ident, form, UNREADABLE, 422)
    actor = _actor()
    try:
        subject = KINDS[kind].subject(actor, ident)
        job = printing.print_label(subject, form.to_data(), actor, station.current())
    except ServiceError as exc:
        if exc.http_status in (403, 404):
            raise  # the error page: not theirs to print, or no such record
        if exc.code == "reason_required":
            form.reason.render_kw = {**(form.reason.render_kw or {}), "autofocus": True}
        return _print_page(
            kind, ident, form, refused(form, exc, "Nothing was printed"), exc.http_status
        )
    return redirect(url_for("printing.job", job_id=job.id))


@bp.route("/print/units/<id:ident>", methods=["GET", "POST"])
@roles_required(*UNIT_PRINTERS)
def print_unit(ident: int) -> ResponseReturnValue:
    if request.method == "POST":
        return _print("unit", ident)
    return _print_page("unit", ident, _print_form())


@bp.route("/print/patients/<id:ident>", methods=["GET", "POST"])
@roles_required(*WRISTBAND_PRINTERS)
def print_patient(ident: int) -> ResponseReturnValue:
    if request.method == "POST":
        return _print("patient", ident)
    return _print_page("patient", ident, _print_form())


@bp.route("/print/locations/<id:ident>", methods=["GET", "POST"])
@roles_required(*LOCATION_PRINTERS)
def print_location(ident: int) -> ResponseReturnValue:
    if request.method == "POST":
        return _print("location", ident)
    return _print_page("location", ident, _print_form())


# ---------------------------------------------------------------------------- the job


def _reprint_endpoint(job: PrintJob) -> tuple[str, int] | None:
    if job.unit_id:
        return "printing.print_unit", job.unit_id
    if job.patient_id:
        return "printing.print_patient", job.patient_id
    if job.location_id:
        return "printing.print_location", job.location_id
    return None


@bp.get("/print/jobs/<id:job_id>")
@roles_required(*ANYONE)
def job(job_id: int) -> ResponseReturnValue:
    actor = _actor()
    found = printing.get_job(job_id, actor)  # one this person may not see: the 404 page
    here = station.current()
    return render_template(
        "printing/job.html",
        job=found,
        reprint=_reprint_endpoint(found),
        scan_form=ScanBackForm(formdata=None),
        destroy_form=DestroyForm(formdata=None),
        recent=printing.recent_jobs(actor, here),
        station=here,
    )


@bp.get("/print/jobs/<id:job_id>.json")
@roles_required(*ANYONE)
def job_json(job_id: int) -> ResponseReturnValue:
    """What the job page's script polls while the label is on its way to the printer."""
    found = printing.get_job(job_id, _actor())
    return jsonify(
        {
            "id": found.id,
            "status": found.status,
            "printer": found.printer.name,
            "error": found.error,
            "finished": found.status not in PENDING,
        }
    )


def _to_job(job_id: int) -> ResponseReturnValue:
    return redirect(url_for("printing.job", job_id=job_id))


def _flash_refusal(exc: ServiceError, nothing: str) -> None:
    """The page again with the service's message on top (a scan-back's answer is a page
    of its own: a reload must not scan again). An unknown job is the 404 page."""
    if exc.http_status == 404:
        raise exc
    flash(f"{nothing}: {exc.message.rstrip('.')}.", "error")


@bp.post("/print/jobs/<id:job_id>/retry")
@roles_required(*ANYONE)
def retry(job_id: int) -> ResponseReturnValue:
    """Send the failed job's same bytes again."""
    try:
        printing.retry(job_id, _actor())
    except ServiceError as exc:
        _flash_refusal(exc, "Nothing was sent")
    return _to_job(job_id)


@bp.post("/print/jobs/<id:job_id>/confirm")
@roles_required(*ANYONE)
def confirm(job_id: int) -> ResponseReturnValue:
    """The scan-back: the page then shows "confirmed" or the wrong-label alert."""
    form = ScanBackForm()
    try:
        printing.confirm(job_id, form.scanned.data, _actor())
    except ServiceError as exc:
        _flash_refusal(exc, "Not checked")
    return _to_job(job_id)


@bp.post("/print/jobs/<id:job_id>/destroy")
@roles_required(*ANYONE)
def destroy(job_id: int) -> ResponseReturnValue:
    """A wrong (or damaged) label was destroyed: recorded with the reason."""
    form = DestroyForm()
    try:
        done = printing.destroy(job_id, {"reason": form.reason.data}, _actor())
    except ServiceError as exc:
        _flash_refusal(exc, "Nothing was recorded")
    else:
        flash(f"Recorded: the label of print job {done.id} was destroyed.", "success")
    return _to_job(job_id)
