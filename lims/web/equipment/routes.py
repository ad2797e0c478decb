"""The equipment register's pages. Reads and changes go through
``services.materials.equipment``, which checks the values and the role; these views parse the
forms, show the service's messages beside the fields they are about, and redirect after a
change (so a reload does not send the form again).

A form sent twice (a double tap, a reload of the answer) changes nothing twice: the service
refuses the second as ``duplicate_record`` / ``no_change`` / ``duplicate_equipment``, which
the page shows as a note beside the item, not as an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import Invalid, ServiceError
from ...domain.materials import EQUIPMENT_KINDS, EQUIPMENT_STATUSES, RECORD_KINDS
from ...domain.roles import Role
from ...models import Equipment, User
from ...security import roles_required
from ...services.admin import locations
from ...services.audit.custody_report import cell
from ...services.materials import equipment
from ...services.materials.registry import get_equipment
from ...services.station.labels import options_from
from ...timefmt import local_time
from ..labels.forms import PrintForm
from ..units.base_forms import UNREADABLE, ServiceForm
from . import bp
from .forms import EquipmentForm, RecordForm, StatusForm

READERS = tuple(equipment.READERS)
EDITORS = tuple(equipment.EDITORS)
RECORDERS = tuple(equipment.RECORDERS)
PER_PAGE = 50
# What a second sending of the same form is told: it was done (by the first), nothing more.
ALREADY_DONE = ("duplicate_record", "no_change", "duplicate_equipment")


def _actor() -> User:
    return current_user._get_current_object()


def _roles(roles: tuple[Role, ...]) -> set[str]:
    return {r.value for r in roles}


@bp.app_context_processor
def _equipment_roles() -> dict:
    return {
        "equipment_editors": _roles(EDITORS),
        "equipment_recorders": _roles(RECORDERS),
        "equipment_kinds": EQUIPMENT_KINDS,
    }


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), 1_000_000) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 1


def _refused(form: ServiceForm, exc: ServiceError) -> str:
    """Put the service's messages beside their fields; the sentence for the top."""
    placed = [form.add_error(name, message) for name, message in exc.fields.items()]
    if placed and all(placed):
        return "Nothing was saved: see the marked fields."
    return f"Nothing was saved: {exc.message}."


# ---------------------------------------------------------------------------- list, page


@bp.route("/")
@roles_required(*READERS)
def index() -> ResponseReturnValue:
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    kind = kind if kind in EQUIPMENT_KINDS else ""
    status = status if status in EQUIPMENT_STATUSES else ""
    items = equipment.list_equipment(kind=kind or None, status=status or None)
    today = equipment.local_today()
    return render_template(
        "equipment/index.html",
        rows=[(item, equipment.due_state(item, today)) for item in items],
        kind=kind,
        status=status,
        today=today,
    )


@bp.route("/<id:equipment_id>")
@roles_required(*READERS)
def detail(equipment_id: int) -> ResponseReturnValue:
    item = get_equipment(equipment_id)
    today = equipment.local_today()
    uses = equipment.units_touched(item, _actor(), page=_page_number(), per_page=PER_PAGE)
    history = equipment.history_of(item)
    return render_template(
        "equipment/detail.html",
        item=item,
        due=equipment.due_state(item, today),
        today=today,
        records=equipment.records_of(item),
        uses=uses,
        history=[(entry, _summary(equipment.entry_data(entry))) for entry in history],
    )


def _words(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list) and len(value) == 2:
        return f"{_words(value[0])} → {_words(value[1])}"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_words(v)}" for k, v in value.items())
    return str(value)


def _summary(data: dict) -> list[tuple[str, str]]:
    """What a ledger entry of the item says, in words (the code and id are the page's own)."""
    return [
        (key.replace("_", " "), _words(value))
        for key, value in data.items()
        if key not in ("equipment", "equipment_id")
    ]


CSV_HEADER = (
    "used_at_local",
    "used_at_utc",
    "unit",
    "product_code",
    "division",
    "type",
    "status",
    "action",
    "step",
    "calibration_valid_until_at_use",
    "permitted_by_deviation",
    "ledger_entry_id",
)


def _csv_rows(item: Equipment, viewer: User) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    for use, unit in equipment.all_units_touched(item, viewer):
        writer.writerow(
            [
                cell(v)
                for v in (
                    local_time(use.used_at, "%Y-%m-%d %H:%M:%S"),
                    use.used_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    unit.eye_readable,
                    unit.product_code,
                    unit.division,
                    unit.unit_type,
                    unit.status,
                    use.action,
                    use.step,
                    use.calibration_valid_until.isoformat()
                    if use.calibration_valid_until
                    else None,
                    use.deviation_id,
                    use.ledger_entry_id,
                )
            ]
        )
        yield flush()


@bp.get("/<id:equipment_id>/units.csv")
@roles_required(*READERS)
def units_csv(equipment_id: int) -> ResponseReturnValue:
    """Every unit the item touched, for a recall: one row per use, newest first."""
    item = get_equipment(equipment_id)
    rows = list(_csv_rows(item, _actor()))  # read now, inside this request's session
    return Response(
        "".join(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{item.code}-units.csv"'},
    )


# ---------------------------------------------------------------------------- register, edit


def _equipment_form(item: Equipment | None = None) -> EquipmentForm:
    form = EquipmentForm(places=locations.all_locations())
    if item is not None:
        form.submit.label.text = "Save changes"
        if not form.is_submitted():
            form.fill_from(item)
    return form


def _form_page(template_values: dict, status: int = 200) -> ResponseReturnValue:
    return render_template("equipment/form.html", **template_values), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def register() -> ResponseReturnValue:
    form = _equipment_form()
    page = {"form": form, "item": None, "title": "Register equipment", "what": "register"}
    if not form.is_submitted():
        return _form_page(page)
    if not form.validate():
        return _form_page({**page, "error": UNREADABLE}, 422)
    try:
        item = equipment.register_equipment(form.to_data(), _actor())
    except ServiceError as exc:
        if exc.code == "duplicate_equipment":
            flash(f"{exc.message[0].upper()}{exc.message[1:]}.", "info")
            return redirect(url_for("equipment.index"))
        return _form_page({**page, "error": _refused(form, exc)}, exc.http_status)
    flash(f"Registered {item.name} as {item.code}. Print its label next.", "success")
    return redirect(url_for("equipment.detail", equipment_id=item.id))


@bp.route("/<id:equipment_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(equipment_id: int) -> ResponseReturnValue:
    item = get_equipment(equipment_id)
    form = _equipment_form(item)
    page = {"form": form, "item": item, "title": f"Edit {item.code}", "what": "edit"}
    if not form.is_submitted():
        return _form_page(page)
    if not form.validate():
        return _form_page({**page, "error": UNREADABLE}, 422)
    try:
        equipment.update_equipment(item.id, form.to_data(), _actor())
    except ServiceError as exc:
        if exc.code in ALREADY_DONE:
            flash("Nothing changed.", "info")
            return redirect(url_for("equipment.detail", equipment_id=item.id))
        return _form_page({**page, "error": _refused(form, exc)}, exc.http_status)
    flash(f"Saved the changes to {item.code}.", "success")
    return redirect(url_for("equipment.detail", equipment_id=item.id))


# ---------------------------------------------------------------------------- records, status


@bp.route("/<id:equipment_id>/records", methods=["GET", "POST"])
@roles_required(*RECORDERS)
def record(equipment_id: int) -> ResponseReturnValue:
    item = get_equipment(equipment_id)
    form = RecordForm()
    if not form.is_submitted():
        kind = request.args.get("kind", "")
        form.kind.data = kind if kind in RECORD_KINDS else "calibration"
    title = f"Record calibration or maintenance · {item.code}"
    page = {"form": form, "item": item, "title": title, "what": "record"}
    if not form.is_submitted():
        return _form_page(page)
    if not form.validate():
        return _form_page({**page, "error": UNREADABLE}, 422)
    try:
        entry = equipment.record(item.id, form.to_data(), _actor())
    except ServiceError as exc:
        if exc.code in ALREADY_DONE:
            flash(f"{exc.message[0].upper()}{exc.message[1:]}.", "info")
            return redirect(url_for("equipment.detail", equipment_id=item.id))
        return _form_page({**page, "error": _refused(form, exc)}, exc.http_status)
    flash(f"Recorded the {entry.kind} of {item.code}.", "success")
    return redirect(url_for("equipment.detail", equipment_id=item.id))


@bp.route("/<id:equipment_id>/status", methods=["GET", "POST"])
@roles_required(*RECORDERS)
def status(equipment_id: int) -> ResponseReturnValue:
    item = get_equipment(equipment_id)
    form = StatusForm()
    if not form.is_submitted():
        form.status.data = "out_of_service" if item.status == "in_service" else "in_service"
    page = {"form": form, "item": item, "title": f"Status · {item.code}", "what": "status"}
    if not form.is_submitted():
        return _form_page(page)
    if not form.validate():
        return _form_page({**page, "error": UNREADABLE}, 422)
    try:
        changed = equipment.set_status(item.id, form.to_data(), _actor())
    except ServiceError as exc:
        if exc.code in ALREADY_DONE:
            flash(f"{exc.message[0].upper()}{exc.message[1:]}.", "info")
            return redirect(url_for("equipment.detail", equipment_id=item.id))
        return _form_page({**page, "error": _refused(form, exc)}, exc.http_status)
    words = "in service" if changed.status == "in_service" else "out of service"
    flash(f"{changed.code} is {words}.", "success")
    return redirect(url_for("equipment.detail", equipment_id=item.id))


# ---------------------------------------------------------------------------- label


def _label_page(item: Equipment, form: PrintForm, error: str | None = None, status: int = 200):
    form.stock.data = form.stock.data or "tube"
    preview, problem = None, None
    try:
        printed = equipment.print_label(item.id, options_from({"stock": form.stock.data}), _actor())
        preview = printed.content.decode()
    except Invalid as exc:
        problem = exc.message
    page = render_template(
        "equipment/label.html",
        item=item,
        form=form,
        preview=preview,
        problem=problem,
        error=error,
    )
    return page, status


@bp.get("/<id:equipment_id>/label")
@roles_required(*READERS)
def label_dialog(equipment_id: int) -> ResponseReturnValue:
    item = get_equipment(equipment_id)
    return _label_page(item, PrintForm(formdata=request.args or None))


@bp.post("/<id:equipment_id>/label")
@roles_required(*READERS)
def print_label(equipment_id: int) -> ResponseReturnValue:
    """A PDF or ZPL download, recorded in the ledger (a reprint needs a reason)."""
    item = get_equipment(equipment_id)
    form = PrintForm()  # CSRF is checked by CSRFProtect before the view runs
    values = {name: request.form.get(name) for name in PrintForm.FIELDS}
    values["format"] = values["format"] or "pdf"
    try:
        printed = equipment.print_label(item.id, options_from(values), _actor())
    except Invalid as exc:
        for name, message in exc.fields.items():
            if name in PrintForm.FIELDS:
                getattr(form, name).errors = [message]
        return _label_page(item, form, exc.message, 422)
    response = Response(printed.content, mimetype=printed.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{printed.filename}"'
    return response
