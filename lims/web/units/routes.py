"""Units in the browser: the list, registering a collection, the unit page, one form per action.

Thin: parse the request, call a service, render. Services decide what is allowed and
valid; a refusal is shown with the service's own message and status code.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.catalogue import CATALOGUE
from ...domain.errors import Invalid, NotFound, ServiceError
from ...domain.lifecycle import ACTIONS, Status
from ...domain.processing import protocol_for
from ...domain.roles import Role
from ...models import Unit, User
from ...security import note_refusal, roles_required, signing_throttle
from ...services import access, search
from ...services.actions import processing, qc, units
from ...services.admin import sites
from ...services.audit import adverse_reactions, certificate
from ...services.audit.timeline import timeline
from ...services.custody import ledger
from ...services.station import shipments
from ..redirects import local_target
from . import bp
from .base_forms import UNREADABLE, ServiceForm, VersionedForm
from .bedside_forms import AdministerForm, DispenseForm
from .export import history_csv
from .forms import ACTION_FORMS, SIGNED_FORMS, CompleteProcessingForm, RecordStepForm, RegisterForm
from .panels import action_context, active_clinicians, correctable_results, unit_panels
from .qc_forms import Earlier, RecordQcForm
from .signature_forms import ExceptionalReleaseForm


def _actor() -> User:
    return current_user._get_current_object()


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@bp.route("/")
@roles_required()
def index() -> ResponseReturnValue:
    q = request.args.get("q", "")
    status = request.args.get("status", "")
    unit_type = request.args.get("type", "")
    error, status_code = None, 200
    try:
        page = search.search_units(
            q,
            viewer=_actor(),
            status=status,
            unit_type=unit_type,
            page=_page_number(request.args.get("page")),
            per_page=current_app.config["UNITS_PER_PAGE"],
        )
    except Invalid as exc:
        error, status_code, page = exc.message, exc.http_status, None
    return render_template(
        "units/index.html",
        page=page,
        error=error,
        q=q,
        status=status,
        unit_type=unit_type,
        filters={k: v for k, v in {"q": q, "status": status, "type": unit_type}.items() if v},
        statuses=list(Status),
        types=CATALOGUE,
    ), status_code


def _show_service_error(form: ServiceForm, exc: ServiceError) -> str:
    """Put each of the service's field messages beside its input; return the page's summary.

    A message about the entry as a whole (outside acceptance, a refused product list) stays
    at the top in full; when every problem sits beside its field, the top says only that.
    """
    placed = [form.add_error(name, message) for name, message in exc.fields.items()]
    if placed and all(placed) and exc.code == "invalid_fields":
        entries = "1 entry needs" if len(placed) == 1 else f"{len(placed)} entries need"
        return f"Nothing was saved: {entries} correcting; see the marked fields."
    return exc.message


@bp.route("/register", methods=["GET", "POST"])
@roles_required(Role.CLINICIAN, Role.TECHNICIAN)
def register() -> ResponseReturnValue:
    mine = [(s.code, f"{s.name} ({s.code})") for s in sites.sites_of(_actor()) if s.active]
    form = RegisterForm(zone=current_app.config["TIMEZONE"], sites=mine)
    if not form.is_submitted():
        return render_template("units/register.html", form=form)
    if not form.validate():
        message = "Some entries could not be read; see the marked fields."
        return render_template("units/register.html", form=form, error=message), 422
    try:
        result = units.register(form.to_data(), _actor())
    except ServiceError as exc:
        _show_service_error(form, exc)
        return render_template("units/register.html", form=form, error=exc.message), exc.http_status
    unit = result.unit
    flash(f"Registered {unit.eye_readable} for {unit.patient.name}.", "success")
    return redirect(url_for("units.detail", unit_id=unit.id))


@bp.route("/<id:unit_id>")
@roles_required()
def detail(unit_id: int) -> ResponseReturnValue:
    unit = access.require_unit(_actor(), unit_id)
    collection = units.units_for_din(unit.din)
    entries = ledger.history([u.id for u in collection])
    return render_template(
        "units/detail.html",
        unit=unit,
        collection=collection,
        timeline=timeline(entries, collection),
        actions=units.allowed_actions(unit, _actor()),
        panels=unit_panels(unit),
        certificate=certificate.latest_of(unit),
        may_print_file_copy=certificate.may_print_file_copy(_actor()),
        shipment=shipments.holding(unit.id),
        reactions=adverse_reactions.of_lot(unit, _actor()),
        reaction_label=adverse_reactions.label,
    )


@bp.route("/<id:unit_id>/history.csv")
@roles_required()
def history_export(unit_id: int) -> ResponseReturnValue:
    """The collection's whole history as the unit page shows it, for an inspector's file."""
    unit = access.require_unit(_actor(), unit_id)
    body = history_csv(unit)
    filename = f"history-{unit.din}-{unit.product_code}-{unit.division}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _make_form(name: str, unit: Unit, actor: User) -> VersionedForm:
    """The action's form, with the choices this unit offers (steps, tests, clinicians)."""
    zone = current_app.config["TIMEZONE"]
    form_class = ACTION_FORMS[name]
    if actor.role == Role.QA and name in SIGNED_FORMS:
        form_class = SIGNED_FORMS[name]
    if form_class is CompleteProcessingForm:
        return CompleteProcessingForm(source_type=unit.unit_type)
    if form_class is RecordStepForm:
        protocol = protocol_for(unit.unit_type)
        done = [processing.step_data(e).get("step") for e in processing.recorded_steps(unit)]
        return RecordStepForm(steps=protocol.steps if protocol else (), done=done, zone=zone)
    if form_class is RecordQcForm:
        specs = qc.specs_in_force(unit.unit_type)
        if unit.status != Status.QUARANTINE:  # after release only sterility is still recorded
            specs = [s for s in specs if s.test == "sterility"]
        earlier = [Earlier(r.id, r.test, text) for r, text in correctable_results(unit)]
        return RecordQcForm(specs=specs, earlier=earlier)
    if form_class in (DispenseForm, ExceptionalReleaseForm):
        return form_class(clinicians=[(u.username, u.full_name) for u in active_clinicians()])
    if form_class is AdministerForm:
        return AdministerForm(zone=zone)
    return form_class()


def _prefill(form: VersionedForm, unit: Unit) -> None:
    """The version the user sees; and a choice that can only be one way, to save taps.

    Measurements (temperature, volume at receipt, QC results) are never prefilled: they must
    be read. Neither are passwords.
    """
    form.version.data = str(unit.version)
    form.prefill(request.args)


@bp.route("/<id:unit_id>/actions/<name>", methods=["GET", "POST"])
@roles_required()
@signing_throttle
def act(unit_id: int, name: str) -> ResponseReturnValue:
    unit = access.require_unit(_actor(), unit_id)
    if name not in ACTION_FORMS:
        abort(404, description=f"there is no form for {name!r}")
    action = ACTIONS[name]
    back = _local_next() or url_for("units.detail", unit_id=unit.id)
    page = {"unit": unit, "action": action, "allowed": [], "back": back}
    try:
        units.check_allowed(unit, name, _actor())
    except ServiceError as exc:
        return _refused(page, exc)
    page.update(action_context(name, unit, _actor()))
    form = _make_form(name, unit, _actor())
    if not form.is_submitted():
        _prefill(form, unit)
        return render_template("units/action.html", form=form, **page)
    if not form.validate():
        return render_template("units/action.html", form=form, error=UNREADABLE, **page), 422
    try:
        result = units.perform_action(
            unit.id, name, form.to_data(), _actor(), expected_version=form.expected_version()
        )
    except Invalid as exc:
        note_refusal(exc.code)
        message = _show_service_error(form, exc)
        page["allowed"] = [a.name for a in units.allowed_actions(unit, _actor())]
        return render_template("units/action.html", form=form, error=message, **page), 422
    except NotFound as exc:
        if exc.fields and all(form.add_error(k, v) for k, v in exc.fields.items()):
            # something the user entered names nothing (a wristband no patient wears)
            return render_template(
                "units/action.html", form=form, error=exc.message, **page
            ), exc.http_status
        return _refused(page, exc, form)
    except ServiceError as exc:
        return _refused(page, exc, form)
    flash(_done_message(action.label, result), "success")
    return redirect(back)


RETRYABLE = frozenset({"patient_mismatch", "stale_version"})


def _refused(
    page: dict, exc: ServiceError, form: VersionedForm | None = None
) -> ResponseReturnValue:
    """The service's refusal in full, without the form; a bedside mismatch is a loud STOP."""
    return render_template(
        "units/action.html",
        refusal=exc.message,
        refusal_code=exc.code,
        retry=form is not None and exc.code in RETRYABLE,
        **page,
    ), exc.http_status


def _local_next() -> str | None:
    """Where to go after the action (the scan station sends ``next``): this site only."""
    return local_target(request.args.get("next"))


def _done_message(label: str, result: units.ActionResult) -> str:
    unit = result.unit
    message = f"{label}: {unit.eye_readable} is now {Status(unit.status).label}."
    if result.products:
        made = ", ".join(f"{p.unit_type} ({p.product_code})" for p in result.products)
        message += f" Products in quarantine: {made}."
    return message
