"""The print dialog: stock, copies, format and (for a reprint) a reason, with the SVG preview.

The label service renders, checks the unit's status and the user's role, and records the
print in the ledger; this view only passes the form's values through and sends the file.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.roles import Role
from ...security import roles_required
from ...services import labels, units
from ...services.errors import Invalid
from .forms import PrintForm

bp = Blueprint("labels", __name__, url_prefix="/labels")
UNIT = "<int(max=2147483647):unit_id>"


@bp.app_context_processor
def _label_roles() -> dict:
    """Who sees the unit page's "Print label" button: the roles the service lets print."""
    return {"label_roles": {r.value for r in labels.UNIT_ROLES}}


def _preview(unit_id: int, stock: str | None) -> tuple[str | None, str | None]:
    """The SVG markup of the label on this stock, or why it cannot be printed on it."""
    try:
        printed = labels.print_unit_label(unit_id, {"stock": stock}, current_user)
    except Invalid as exc:
        return None, exc.message
    return printed.content.decode(), None


def _dialog(unit_id: int, form: PrintForm, error: str | None = None, status: int = 200):
    unit = units.get_unit(unit_id)
    stock = form.stock.data or labels.DEFAULT_STOCK[labels.unit_label(unit).kind]
    form.stock.data = stock
    preview, problem = _preview(unit_id, stock)
    return render_template(
        "labels/dialog.html",
        unit=unit,
        form=form,
        preview=preview,
        problem=problem,
        error=error,
    ), status


@bp.get(f"/units/{UNIT}")
@roles_required(Role.TECHNICIAN, Role.QA, Role.ADMIN)
def unit_dialog(unit_id: int) -> ResponseReturnValue:
    form = PrintForm(formdata=request.args or None)
    return _dialog(unit_id, form)


@bp.post(f"/units/{UNIT}")
@roles_required(Role.TECHNICIAN, Role.QA, Role.ADMIN)
def print_unit(unit_id: int) -> ResponseReturnValue:
    form = PrintForm()  # CSRF is checked by CSRFProtect before the view runs
    values = {name: request.form.get(name) for name in PrintForm.FIELDS}
    values["format"] = values["format"] or "pdf"
    try:
        printed = labels.print_unit_label(unit_id, values, current_user)
    except Invalid as exc:
        for name, message in exc.fields.items():
            if name in PrintForm.FIELDS:
                getattr(form, name).errors = [message]
        return _dialog(unit_id, form, exc.message, 422)
    response = Response(printed.content, mimetype=printed.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    return response
