"""Bulk imports on the ``api`` blueprint (admins): upload a file (multipart) and get its dry
run, read an import with its job's progress, confirm it. Thin like the other routes:
``services.station.data_import`` reads, judges and writes."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..domain import import_files
from ..domain.errors import Invalid
from ..domain.roles import Role
from ..models import User
from ..models.data_import import DataImport
from ..security import roles_required
from ..services.station import data_import
from . import bp
from .body import WrongContentType, parse, query
from .imports_doc import ImportJobOut, ImportOut, ImportQuery, ImportRowOut, ImportUpload
from .respond import json_response
from .schemas import PersonOut

FIELDS = ("file", "kind")
BODY_CAP = import_files.MAX_BYTES + 256 * 1024  # the file, its fields and the framing


def _actor() -> User:
    return current_user._get_current_object()


def _too_large() -> data_import.TooLarge:
    size = import_files.MAX_BYTES // (1024 * 1024)
    return data_import.TooLarge(
        f"the file is larger than {size} MiB; split it", fields={"file": "too large"}
    )


def _form() -> data_import.Upload:
    """The multipart body, each field once, none unknown (415, 413 or 422 otherwise)."""
    request.max_content_length = BODY_CAP
    if request.mimetype != "multipart/form-data":
        raise WrongContentType(
            "send the file as multipart/form-data with the fields file and kind",
            code="wrong_content_type",
        )
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        raise _too_large() from None
    names = [*form.keys(), *files.keys()]
    problems = {
        name: "unknown field; the fields are file and kind" for name in names if name not in FIELDS
    }
    for name in set(names) & set(FIELDS):
        if len(form.getlist(name)) + len(files.getlist(name)) > 1:
            problems[name] = "give this field once"
    if problems:
        raise Invalid(f"invalid form: {', '.join(sorted(problems))}", fields=problems)
    data: dict = {"kind": form["kind"]} if "kind" in form else {}
    filename = "upload.csv"
    if "file" in files:
        data["file"] = files["file"].read(import_files.MAX_BYTES + 1)
        filename = files["file"].filename or filename
    elif "file" in form:  # a client that sends the file's text as a plain field
        data["file"] = form["file"].encode("utf-8", "surrogatepass")
    if len(data.get("file") or b"") > import_files.MAX_BYTES:
        raise _too_large()
    fields = parse(ImportUpload, data)
    return data_import.Upload(fields.file, filename, fields.kind)


def _person(user: User | None) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.full_name) if user is not None else None


def import_out(imp: DataImport, params: ImportQuery | None = None) -> ImportOut:
    params = params or ImportQuery()
    rows = imp.rows
    summary = data_import.summary(imp, rows)
    chosen = [r for r in rows if params.status is None or r["status"] == params.status]
    page = chosen[params.offset : params.offset + params.limit]
    end = params.offset + len(page)
    job = None
    if imp.job_id is not None and summary.job_status is not None:
        job = ImportJobOut(
            id=imp.job_id,
            status=summary.job_status,
            progress=summary.progress,
            total=summary.total,
            percent=summary.percent,
            error=summary.error,
        )
    return ImportOut(
        id=imp.id,
        kind=imp.kind,
        sha256=imp.sha256,
        filename=imp.filename,
        file_format=imp.file_format,
        status=summary.status,
        summary=summary.words,
        row_count=imp.row_count,
        counts=summary.counts,
        imported_count=imp.imported_count,
        error=imp.error,
        uploaded_by=_person(imp.uploaded_by),
        uploaded_at=imp.uploaded_at,
        confirmed_by=_person(imp.confirmed_by),
        confirmed_at=imp.confirmed_at,
        job=job,
        rows=[ImportRowOut(**row) for row in page],
        next_offset=end if end < len(chosen) else None,
    )


@bp.post("/imports")
@roles_required(Role.ADMIN)
def upload_import():
    """The file read and every row judged; nothing written yet."""
    imp = data_import.upload(_form(), _actor())
    location = url_for("api.get_import", import_id=imp.id)
    return json_response(import_out(imp), 201, Location=location)


@bp.get("/imports/<id:import_id>")
@roles_required(Role.ADMIN)
def get_import(import_id: int):
    params = query(ImportQuery)
    return json_response(import_out(data_import.get_import(import_id, _actor()), params))


@bp.post("/imports/<id:import_id>/confirm")
@roles_required(Role.ADMIN)
def confirm_import(import_id: int):
    """Start the job that writes it all or nothing (202)."""
    done = data_import.confirm(import_id, _actor())
    return json_response(import_out(done.imp), 202)
