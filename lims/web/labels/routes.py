"""The print dialog: stock, copies, format and (for a reprint) a reason, with the SVG preview.

One dialog for the three things that carry labels: units (from the unit page), patients
(wristbands) and locations (both from the scan station). The label service renders, checks
the unit's status and the user's role, and records each print in the ledger; these views
only pass the form's values through and send the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import Invalid, NotFound
from ...domain.roles import Role
from ...extensions import db
from ...models import Location
from ...security import roles_required
from ...services import access
from ...services.station import labels
from . import bp
from .forms import PrintForm


@dataclass(frozen=True)
class Target:
    """What a dialog prints: how to find the record, print it, and go back to it."""

    template: str  # the label template when it does not depend on the record
    find: Callable[[int], Any]
    print: Callable[..., labels.PrintedLabel]
    back: Callable[[Any], str]


def _unit(ident: int) -> Any:
    return access.require_unit(current_user._get_current_object(), ident)


def _patient(ident: int) -> Any:
    """A patient the user may see (decision 61); anyone else is "no such patient"."""
    return access.require_patient(current_user._get_current_object(), ident)


def _find(model: type, what: str) -> Callable[[int], Any]:
    def find(ident: int) -> Any:
        found = db.session.get(model, ident)
        if found is None:
            raise NotFound(f"no {what} with id {ident}")
        return found

    return find


TARGETS = {
    "unit": Target(
        "",
        _unit,
        labels.print_unit_label,
        lambda unit: url_for("units.detail", unit_id=unit.id),
    ),
    "patient": Target(
        "wristband",
        _patient,
        labels.print_patient_label,
        lambda _: url_for("scan.station_page"),
    ),
    "location": Target(
        "location",
        _find(Location, "location"),
        labels.print_location_label,
        lambda _: url_for("scan.station_page"),
    ),
}


@bp.app_context_processor
def _label_roles() -> dict:
    """Who sees "Print label" buttons (unit page, scan station): the roles the service lets print."""
    return {
        "label_roles": {r.value for r in labels.UNIT_ROLES},
        "wristband_label_roles": {r.value for r in labels.WRISTBAND_ROLES},
        "location_label_roles": {r.value for r in labels.LOCATION_ROLES},
    }


def _preview(target: Target, ident: int, stock: str | None) -> tuple[str | None, str | None]:
    """The SVG markup of the label on this stock, or why it cannot be printed on it."""
    try:
        printed = target.print(ident, {"stock": stock}, current_user)
    except Invalid as exc:
        return None, exc.message
    return printed.content.decode(), None


def _dialog(kind: str, ident: int, form: PrintForm, error: str | None = None, status: int = 200):
    target = TARGETS[kind]
    record = target.find(ident)
    template = target.template or labels.unit_label(record).kind
    form.stock.data = form.stock.data or labels.DEFAULT_STOCK[template]
    preview, problem = _preview(target, ident, form.stock.data)
    page = render_template(
        "labels/dialog.html",
        kind=kind,
        record=record,
        ident=ident,
        back=target.back(record),
        form=form,
        preview=preview,
        problem=problem,
        error=error,
    )
    return page, status


def _print(kind: str, ident: int) -> ResponseReturnValue:
    form = PrintForm()  # CSRF is checked by CSRFProtect before the view runs
    values = {name: request.form.get(name) for name in PrintForm.FIELDS}
    values["format"] = values["format"] or "pdf"
    try:
        printed = TARGETS[kind].print(ident, values, current_user)
    except Invalid as exc:
        for name, message in exc.fields.items():
            if name in PrintForm.FIELDS:
                getattr(form, name).errors = [message]
        return _dialog(kind, ident, form, exc.message, 422)
    response = Response(printed.content, mimetype=printed.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    return response


PRINTERS = (Role.TECHNICIAN, Role.QA, Role.ADMIN)
WRISTBAND_PRINTERS = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA)


@bp.get("/units/<id:ident>")
@roles_required(*PRINTERS)
def unit_dialog(ident: int) -> ResponseReturnValue:
    return _dialog("unit", ident, PrintForm(formdata=request.args or None))


@bp.post("/units/<id:ident>")
@roles_required(*PRINTERS)
def print_unit(ident: int) -> ResponseReturnValue:
    return _print("unit", ident)


@bp.get("/patients/<id:ident>")
@roles_required(*WRISTBAND_PRINTERS)
def patient_dialog(ident: int) -> ResponseReturnValue:
    return _dialog("patient", ident, PrintForm(formdata=request.args or None))


@bp.post("/patients/<id:ident>")
@roles_required(*WRISTBAND_PRINTERS)
def print_patient(ident: int) -> ResponseReturnValue:
    return _print("patient", ident)


@bp.get("/locations/<id:ident>")
@roles_required(*PRINTERS)
def location_dialog(ident: int) -> ResponseReturnValue:
    return _dialog("location", ident, PrintForm(formdata=request.args or None))


@bp.post("/locations/<id:ident>")
@roles_required(*PRINTERS)
def print_location(ident: int) -> ResponseReturnValue:
    return _print("location", ident)
