"""Instrument result imports on the ``api`` blueprint: upload a file (multipart) and get its
preview, read an import, confirm it. Thin like the other routes: ``services.station.qc_import``
reads, matches, judges and records."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..domain import instrument_files
from ..domain.errors import Invalid
from ..domain.roles import Role
from ..models import QcImport, User
from ..security import roles_required
from ..services.station import qc_import
from . import bp
from .body import WrongContentType, parse, query
from .qc_imports_doc import (
    FORMAT_KEYS,
    InstrumentOut,
    QcImportJobOut,
    QcImportOut,
    QcImportQuery,
    QcImportRowOut,
    QcImportUpload,
)
from .respond import json_response
from .schemas import PersonOut

FIELDS = ("file", "format", "instrument", "lot", "mapping")
# The file plus its form fields and multipart framing.
BODY_CAP = instrument_files.MAX_BYTES + 256 * 1024


def _actor() -> User:
    return current_user._get_current_object()


def _too_large() -> qc_import.TooLarge:
    size = instrument_files.MAX_BYTES // (1024 * 1024)
    return qc_import.TooLarge(
        f"the file is larger than {size} MiB; split it into smaller exports",
        fields={"file": "too large"},
    )


def _form() -> qc_import.Upload:
    """The multipart body, each field once, none unknown (415, 413 or 422 otherwise)."""
    request.max_content_length = BODY_CAP
    if request.mimetype != "multipart/form-data":
        raise WrongContentType(
            "send the file as multipart/form-data with the fields file, format, instrument, "
            "lot and (generic files) mapping",
            code="wrong_content_type",
        )
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise _too_large() from None
    names = [*form.keys(), *files.keys()]
    problems = {
        name: "unknown field; the fields are " + ", ".join(FIELDS)
        for name in names
        if name not in FIELDS
    }
    for name in set(names) & set(FIELDS):
        if len(form.getlist(name)) + len(files.getlist(name)) > 1:
            problems[name] = "give this field once"
    if problems:
        raise Invalid(f"invalid form: {', '.join(sorted(problems))}", fields=problems)
    if "file" in files:
        content = files["file"].read(instrument_files.MAX_BYTES + 1)
        filename = files["file"].filename or "upload.csv"
    else:  # a client that sends the file's text as a plain field
        content = form["file"].encode("utf-8", "surrogatepass") if "file" in form else None
        filename = "upload.csv"
    if content is not None and len(content) > instrument_files.MAX_BYTES:
        raise _too_large()
    data: dict[str, Any] = {name: form[name] for name in FIELDS[1:] if name in form}
    if content is not None:
        data["file"] = content
    fields = parse(QcImportUpload, data)
    return qc_import.Upload(
        fields.file, filename, fields.format, fields.instrument, fields.lot, fields.mapping or None
    )


def _person(user: User | None) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.full_name) if user is not None else None


def import_out(imp: QcImport, params: QcImportQuery | None = None) -> QcImportOut:
    params = params or QcImportQuery()
    rows = imp.rows
    summary = qc_import.summary(imp, rows)
    chosen = [r for r in rows if params.status is None or r["status"] == params.status]
    page = chosen[params.offset : params.offset + params.limit]
    end = params.offset + len(page)
    job = None
    if imp.job_id is not None and summary.job_status is not None:
        job = QcImportJobOut(
            id=imp.job_id,
            status=summary.job_status,
            progress=summary.progress,
            total=summary.total,
            percent=summary.percent,
            error=summary.error,
        )
    item = imp.equipment
    return QcImportOut(
        id=imp.id,
        sha256=imp.sha256,
        filename=imp.filename,
        format=imp.format if imp.format in FORMAT_KEYS else "generic",
        instrument=InstrumentOut(id=item.id, code=item.code, name=item.name) if item else None,
        status=summary.status,
        summary=summary.words,
        row_count=imp.row_count,
        counts=summary.counts,
        imported_count=imp.imported_count,
        uploaded_by=_person(imp.uploaded_by),
        uploaded_at=imp.uploaded_at,
        confirmed_by=_person(imp.confirmed_by),
        confirmed_at=imp.confirmed_at,
        job=job,
        rows=[QcImportRowOut(**row) for row in page],
        next_offset=end if end < len(chosen) else None,
    )


@bp.post("/qc-imports")
@roles_required(Role.TECHNICIAN, Role.QA)
def upload_qc_import():
    """The file read, each result matched and judged; nothing recorded yet."""
    imp = qc_import.upload(_form(), _actor())
    location = url_for("api.get_qc_import", import_id=imp.id)
    return json_response(import_out(imp), 201, Location=location)


@bp.get("/qc-imports/<id:import_id>")
@roles_required(Role.TECHNICIAN, Role.QA)
def get_qc_import(import_id: int):
    params = query(QcImportQuery)
    return json_response(import_out(qc_import.get_import(import_id, _actor()), params))


@bp.post("/qc-imports/<id:import_id>/confirm")
@roles_required(*qc_import.RECORD_QC.roles)
def confirm_qc_import(import_id: int):
    """Record the ready results: here (200), or by a job for a large file (202)."""
    done = qc_import.confirm(import_id, _actor())
    status = 202 if done.job_id is not None else 200
    return json_response(import_out(done.imp), status)
