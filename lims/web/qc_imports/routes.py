"""Instrument imports in the browser: parse the form, call ``services.station.qc_import``,
render. A refused upload shows the form again with the reason beside the field (4xx);
confirming records the ready results, here or by a job whose bar the page shows."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ...domain import instrument_files
from ...domain.errors import ServiceError
from ...domain.materials import EQUIPMENT_KINDS
from ...domain.roles import Role
from ...models import User
from ...security import roles_required
from ...services.station import qc_import
from . import bp
from .forms import INSTRUMENT_LIST, UploadForm

IMPORTERS = (Role.TECHNICIAN, Role.QA)
PER_PAGE = 100
BODY_CAP = instrument_files.MAX_BYTES + 256 * 1024
TOO_LARGE = (
    f"Nothing was uploaded: the file is larger than "
    f"{instrument_files.MAX_BYTES // (1024 * 1024)} MiB. Export fewer runs per file."
)


def _viewer() -> User:
    return current_user._get_current_object()


@bp.record_once
def _cap_before_anything_reads_the_form(state) -> None:
    """The upload's body cap is the file's, not the app's: set it before CSRF protection (the
    app's first before-request) reads the form."""

    def cap() -> None:
        if request.endpoint == "qc_imports.new" and request.method == "POST":
            request.max_content_length = BODY_CAP

    state.app.before_request_funcs.setdefault(None, []).insert(0, cap)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    form = UploadForm(formdata=None)
    return _form_page(form, TOO_LARGE, 413)


@bp.get("")
@roles_required(*IMPORTERS)
def index() -> ResponseReturnValue:
    viewer = _viewer()
    imports = qc_import.recent_imports(viewer)
    return render_template(
        "qc_imports/index.html",
        imports=[(imp, qc_import.summary(imp)) for imp in imports],
        formats=instrument_files.FORMATS,
    )


def _form_page(form: UploadForm, error: str | None, status: int = 200) -> ResponseReturnValue:
    instruments = [
        (item.code, f"{item.name} · {EQUIPMENT_KINDS.get(item.kind, item.kind)}")
        for item in qc_import.instruments()
    ]
    page = render_template(
        "qc_imports/new.html",
        form=form,
        error=error,
        instruments=instruments,
        instrument_list=INSTRUMENT_LIST,
    )
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*IMPORTERS)
def new() -> ResponseReturnValue:
    """GET: the form; POST: read the file and show its preview, or say why not."""
    form = UploadForm()
    if not form.is_submitted():
        return _form_page(form, None)
    if not form.validate():
        return _form_page(form, "Nothing was uploaded: the form could not be read.", 422)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors.append("choose the file the instrument exported")
        return _form_page(form, "Nothing was uploaded: choose a file.", 422)
    content = upload.read(instrument_files.MAX_BYTES + 1)
    data = form.to_data()
    try:
        imp = qc_import.upload(
            qc_import.Upload(
                content,
                upload.filename,
                data["format"],
                data["instrument"],
                data["lot"],
                data["mapping"],
            ),
            _viewer(),
        )
    except ServiceError as exc:
        placed = [form.add_error(name, message) for name, message in exc.fields.items()]
        error = (
            "Nothing was uploaded: see the marked fields."
            if placed and all(placed)
            else f"Nothing was uploaded: {exc.message}"
        )
        return _form_page(form, error, exc.http_status)
    return redirect(url_for("qc_imports.detail", import_id=imp.id))


@bp.get("/<id:import_id>")
@roles_required(*IMPORTERS)
def detail(import_id: int) -> ResponseReturnValue:
    viewer = _viewer()
    imp = qc_import.get_import(import_id, viewer)
    rows = imp.rows
    summary = qc_import.summary(imp, rows)
    shown = request.args.get("status", "")
    if shown not in qc_import.ROW_STATUSES:
        shown = ""
    chosen = [r for r in rows if not shown or r["status"] == shown]
    pages = max(1, -(-len(chosen) // PER_PAGE))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), pages)
    except ValueError:
        page = 1
    return render_template(
        "qc_imports/detail.html",
        imp=imp,
        summary=summary,
        rows=chosen[(page - 1) * PER_PAGE : page * PER_PAGE],
        shown=shown,
        page=page,
        pages=pages,
        statuses=qc_import.ROW_STATUSES,
        file_format=instrument_files.FORMATS.get(imp.format),
        may_confirm=qc_import.may_confirm(viewer),
    )


@bp.post("/<id:import_id>/confirm")
@roles_required(*qc_import.RECORD_QC.roles)
def confirm(import_id: int) -> ResponseReturnValue:
    try:
        done = qc_import.confirm(import_id, _viewer())
    except ServiceError as exc:
        if exc.http_status == 404:
            raise
        flash(f"Nothing was imported: {exc.message.rstrip('.')}.", "error")
        return redirect(url_for("qc_imports.detail", import_id=import_id))
    if done.job_id is not None:
        flash("The import is running: the bar below shows how far it has got.", "success")
    else:
        flash(f"{done.imp.imported_count or 0} results recorded.", "success")
    return redirect(url_for("qc_imports.detail", import_id=import_id))


@bp.get("/<id:import_id>/progress.json")
@roles_required(*IMPORTERS)
def progress(import_id: int) -> ResponseReturnValue:
    """What the page's bar polls (``static/js/progress.js``)."""
    summary = qc_import.summary(qc_import.get_import(import_id, _viewer()))
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
