"""Bulk imports in the browser: parse the form, call ``services.station.data_import``,
render. A refused upload shows the form again with the reason beside the field (4xx);
confirming starts the job whose bar the page shows."""

from __future__ import annotations

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from ...domain import import_files
from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import User
from ...security import roles_required
from ...services.station import data_import
from ..units.base_forms import CHOOSE, ServiceForm
from . import bp

PER_PAGE = 100
BODY_CAP = import_files.MAX_BYTES + 256 * 1024
TOO_LARGE = (
    f"Nothing was uploaded: the file is larger than "
    f"{import_files.MAX_BYTES // (1024 * 1024)} MiB. Split it into smaller files."
)


class UploadForm(ServiceForm):
    kind = SelectField(
        "What the file holds",
        choices=[CHOOSE]
        + [SelectChoice(key, kind.label) for key, kind in import_files.KINDS.items()],
        validate_choice=False,
    )
    file = FileField(
        "File",
        description="CSV or XLSX with a header row; start from a template",
        render_kw={"accept": ".csv,.xlsx,text/csv"},
    )
    submit = SubmitField("Upload and dry run")


def _viewer() -> User:
    return current_user._get_current_object()


@bp.record_once
def _cap_before_anything_reads_the_form(state) -> None:
    """The upload's body cap is the file's: set it before CSRF protection reads the form."""

    def cap() -> None:
        if request.endpoint == "imports.new" and request.method == "POST":
            request.max_content_length = BODY_CAP

    state.app.before_request_funcs.setdefault(None, []).insert(0, cap)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    return _form_page(UploadForm(formdata=None), TOO_LARGE, 413)


@bp.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    imports = data_import.recent_imports(_viewer())
    return render_template(
        "imports/index.html",
        imports=[(imp, data_import.summary(imp)) for imp in imports],
        kinds=import_files.KINDS,
        order=import_files.ORDER,
    )


@bp.get("/templates/<kind>.<file_format>")
@roles_required(Role.ADMIN)
def template(kind: str, file_format: str) -> ResponseReturnValue:
    content, filename, media = data_import.template(kind, file_format)
    return Response(
        content,
        mimetype=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _form_page(form: UploadForm, error: str | None, status: int = 200) -> ResponseReturnValue:
    return render_template("imports/new.html", form=form, error=error), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new() -> ResponseReturnValue:
    """GET: the form; POST: read the file and show its dry run, or say why not."""
    form = UploadForm()
    if not form.is_submitted():
        form.kind.data = request.args.get("kind", "")
        return _form_page(form, None)
    if not form.validate():
        return _form_page(form, "Nothing was uploaded: the form could not be read.", 422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors.append("choose the file")
        return _form_page(form, "Nothing was uploaded: choose a file.", 422)
    content = upload.read(import_files.MAX_BYTES + 1)
    try:
        imp = data_import.upload(
            data_import.Upload(content, upload.filename, form.kind.data or ""), _viewer()
        )
    except ServiceError as exc:
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was uploaded: see the marked fields."
            if placed and all(placed)
            else f"Nothing was uploaded: {exc.message}"
        )
        return _form_page(form, error, exc.http_status)
    return redirect(url_for("imports.detail", import_id=imp.id))


@bp.get("/<id:import_id>")
@roles_required(Role.ADMIN)
def detail(import_id: int) -> ResponseReturnValue:
    imp = data_import.get_import(import_id, _viewer())
    rows = imp.rows
    summary = data_import.summary(imp, rows)
    shown = request.args.get("status", "")
    if shown not in data_import.ROW_STATUSES:
        shown = ""
    chosen = [r for r in rows if not shown or r["status"] == shown]
    # Refused rows first: they are what the person has to fix.
    chosen.sort(key=lambda r: (r["status"] != data_import.REFUSED, r["row"]))
    pages = max(1, -(-len(chosen) // PER_PAGE))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), pages)
    except ValueError:
        page = 1
    kind = import_files.KINDS[imp.kind]
    return render_template(
        "imports/detail.html",
        imp=imp,
        summary=summary,
        rows=chosen[(page - 1) * PER_PAGE : page * PER_PAGE],
        columns=list(rows[0]["cells"]) if rows else list(kind.names),
        kind=kind,
        shown=shown,
        page=page,
        pages=pages,
        statuses=data_import.ROW_STATUSES,
    )


@bp.post("/<id:import_id>/confirm")
@roles_required(Role.ADMIN)
def confirm(import_id: int) -> ResponseReturnValue:
    try:
        data_import.confirm(import_id, _viewer())
    except ServiceError as exc:
        if exc.http_status == 404:
            raise
        flash(f"Nothing was imported: {exc.message.rstrip('.')}.", "error")
        return redirect(url_for("imports.detail", import_id=import_id))
    flash("The import is running: the bar below shows how far it has got.", "success")
    return redirect(url_for("imports.detail", import_id=import_id))


@bp.get("/<id:import_id>/progress.json")
@roles_required(Role.ADMIN)
def progress(import_id: int) -> ResponseReturnValue:
    """What the page's bar polls (``static/js/progress.js``)."""
    summary = data_import.summary(data_import.get_import(import_id, _viewer()))
    return jsonify(
        {
            "id": import_id,
            "status": summary.job_status or summary.status,
            "progress": summary.progress,
            "total": summary.total,
            "percent": summary.percent,
            "finished": summary.finished,
            "summary": summary.words,
        }
    )
