"""Instrument result files (product §7): upload, preview, confirm; no result typed by hand.

1. **Upload** (technician, QA): the file as uploaded (its SHA-256 over the bytes), its format,
   the instrument that exported it (an equipment code of the register, of the kind that
   exports the format, and the serial number the file's header names, if both name one) and
   the kit lot. The file is read by ``domain.instrument_files``; the preview is built and kept
   on the ``QcImport`` row. Nothing is recorded yet.
2. **Preview**: one line per result: the file's line, the sample id, the unit it names, the
   test, the value as written and as it will be recorded, the verdict it will get against the
   specification in force, and whether it will be imported or why not.
3. **Confirm** (who may record QC: the lifecycle table's ``record_qc`` roles): each result
   that was ready is recorded through ``units.perform_action(…, "record_qc", …)``, the same
   rules and ledger entries as a typed one, citing the file's SHA-256, its line and column, the
   import and the instrument (``provenance``). A result refused then (the unit moved on, the
   instrument's calibration lapsed meanwhile) is shown refused with the reason. A file with
   more than ``QC_IMPORT_JOB_RESULTS`` results to record is imported by a job (a Celery task,
   ``lims.qc_import_job``, or a thread without a broker), with a progress bar.

Which unit a row names: its sample id must be a unit's identifier as scanned or typed
(``domain.codes.classify``): the DIN with its check character or flags, and then either

- the product code and division too (the Data Matrix, or both barcodes): that unit; or
- the DIN alone: the one product of that collection that is in QC (quarantine, released,
  dispensed); none, or more than one (a split product's aliquots), refuses the row, asking
  for the product code and division.

A unit the uploader may not see (``services.access``) is, to them, no unit: the row reads
exactly as one naming an unknown identifier. Refused and not imported, each with its reason:
an unreadable value, an unknown or mistyped identifier, a unit not in QC, a test its product
has no specification for, a value the test does not take, a row of a file already imported
(``QcResult.source`` is unique), the same unit and test twice in the file, and every row
when the instrument is out of service or past its calibration. Standards, blanks and
controls of the run are shown as skipped. Importing the same file twice records nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from pydantic import ValidationError
from sqlalchemy import select, update

from ... import dispatch
from ...db import transaction
from ...domain import codes, identifiers, instrument_files, qc
from ...domain.catalogue import CATALOGUE
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from ...domain.identifiers import CodeError
from ...domain.lifecycle import ACTIONS, Context, Status
from ...domain.materials import EQUIPMENT_KINDS, equipment_problem
from ...domain.roles import Role
from ...extensions import db
from ...models import Equipment, Job, QcImport, QcResult, Unit, User
from ...models.types import utcnow
from .. import access
from ..actions import qc as qc_service
from ..actions import units
from ..materials import registry
from . import file_imports
from .file_imports import TooLarge

log = logging.getLogger(__name__)

IMPORTERS = frozenset({Role.TECHNICIAN, Role.QA})
RECORD_QC = ACTIONS["record_qc"]
JOB_KIND = "qc_import"
JOB_RESULTS = 100  # more results than this to record: a job (``QC_IMPORT_JOB_RESULTS``)
CHUNK = 500  # identifiers per query
PROGRESS_STEPS = 100

# An import's status.
PREVIEWED, IMPORTING, IMPORTED, FAILED = "previewed", "importing", "imported", "failed"
# A preview line's status.
READY, REFUSED, SKIPPED, DONE = "ready", "refused", "skipped", "imported"
ROW_STATUSES = (READY, REFUSED, SKIPPED, DONE)


@dataclass(frozen=True)
class Upload:
    """What the form, the API or the command line hands in."""

    content: bytes
    filename: str
    format: str
    instrument: str
    lot: str
    mapping: str | None = None


@dataclass(frozen=True)
class Summary(file_imports.Progress):
    """An import as its page and the API show it: counts and the job's progress."""

    @property
    def words(self) -> str:
        """The state in one sentence, as the page and its live region say it."""
        ready, done = self.counts.get(READY, 0), self.counts.get(DONE, 0)
        refused = self.counts.get(REFUSED, 0)
        if self.status == PREVIEWED:
            return f"Previewed: {ready} results ready to import, {refused} refused."
        if self.status == IMPORTING:
            if self.job_status == "queued":
                return f"Waiting to start: {self.total} results to import."
            return f"Importing: {self.progress} of {self.total} results ({self.percent} %)."
        if self.status == FAILED:
            return (
                f"The import stopped: {self.error or 'the process running it ended'}. Results "
                "recorded so far stay recorded; upload the file again to import the rest "
                "(rows already imported are recognised)."
            )
        return f"Imported: {done} results recorded, {refused} refused."


def _role(user: User) -> Role | None:
    return Role(user.role) if user.role in {r.value for r in Role} else None


def _require_importer(user: User) -> None:
    if _role(user) not in IMPORTERS:
        raise Forbidden(
            "only technicians and QA import instrument result files", code="role_not_allowed"
        )


def may_confirm(user: User) -> bool:
    """Who records QC results may confirm an import (the lifecycle table's record_qc roles)."""
    return _role(user) in RECORD_QC.roles


# ---------------------------------------------------------------------------- reading


def get_import(import_id: object, viewer: User) -> QcImport:
    _require_importer(viewer)
    return file_imports.by_id(QcImport, import_id, "instrument import")


def recent_imports(viewer: User, limit: int = 50) -> list[QcImport]:
    _require_importer(viewer)
    return file_imports.recent(QcImport, limit)


def instruments() -> list[Equipment]:
    """Equipment an import may name: in service, of a kind that exports a format (or of
    kind "other", for generic files); for the upload form's list (a scanned code may name any
    item: the checks say what is wrong)."""
    kinds = {k for f in instrument_files.FORMATS.values() for k in f.equipment_kinds} | {"other"}
    return list(
        db.session.scalars(
            select(Equipment)
            .where(Equipment.status == "in_service", Equipment.kind.in_(sorted(kinds)))
            .order_by(Equipment.kind, Equipment.name, Equipment.code)
        )
    )


def summary(imp: QcImport, rows: list[dict[str, Any]] | None = None) -> Summary:
    """The import's state; ``rows``: its preview lines when the caller has read them. A bar
    polling a running job gets no counts (a 10 000-row preview is megabytes to read)."""
    status = imp.status
    job = db.session.get(Job, imp.job_id) if imp.job_id else None
    running = job is not None and job.status in ("queued", "running")
    counts = dict.fromkeys(ROW_STATUSES, 0)
    if rows is not None or not running:
        for row in imp.rows if rows is None else rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
    if job is None:
        return Summary(status, counts, total=counts[READY] + counts[DONE])
    if running:  # finished when its job is (progress and all)
        status = IMPORTING
    elif job.status == "failed" and status != IMPORTED:
        status = FAILED
    # The sweep's words for a stalled job end in advice for a verification: keep the fact.
    error = job.error.split(";")[0] if job.error else None
    return Summary(status, counts, job.status, job.progress, job.total, error)


# ---------------------------------------------------------------------------- upload


def _text_field(value: object, name: str, label: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise Invalid(f"give the {label}", code="invalid_fields", fields={name: "required"})
    if len(text) > limit or re.search(r"[\x00-\x1f\x7f\ud800-\udfff]", text):
        message = f"the {label} is at most {limit} characters, without control characters"
        raise Invalid(message, code="invalid_fields", fields={name: message})
    return text


def _unreadable(exc: instrument_files.FileError) -> Invalid:
    return Invalid(exc.message, code="unreadable_file", fields={exc.field: exc.message})


def _instrument(code: object, file_format: instrument_files.FileFormat) -> Equipment:
    """The register's item the code names, of a kind that exports this format."""
    try:
        item = registry.equipment_by_code(code, "instrument")
    except NotFound as exc:
        raise Invalid(
            exc.message, code="unknown_equipment", fields={"instrument": exc.message}
        ) from None
    if file_format.equipment_kinds and item.kind not in file_format.equipment_kinds:
        kinds = " or ".join(EQUIPMENT_KINDS[k].lower() for k in sorted(file_format.equipment_kinds))
        message = (
            f"{item.code} {item.name} is a {EQUIPMENT_KINDS.get(item.kind, item.kind).lower()}; "
            f"a {file_format.name} file comes from a {kinds}"
        )
        raise Invalid(message, code="wrong_instrument", fields={"instrument": message})
    return item


def kit_lot(given: object, parsed: instrument_files.ParsedFile) -> str:
    """The kit lot the results are recorded with: as given, else as the file's header names
    it (an Endosafe report names its cartridge lot). Both, and not the same: refused."""
    if given is None or not str(given).strip():
        if parsed.lot:
            return _text_field(parsed.lot, "lot", "kit lot", 40)
        return _text_field("", "lot", "kit lot (the file names none)", 40)
    lot = _text_field(given, "lot", "kit lot", 40)
    if parsed.lot and not _same_serial(parsed.lot, lot):
        message = f"the file names kit lot {parsed.lot}, not {lot}"
        raise Invalid(message, code="invalid_fields", fields={"lot": message})
    return lot


def _same_serial(a: str, b: str) -> bool:
    return re.sub(r"[\s\-_/.]", "", a).upper() == re.sub(r"[\s\-_/.]", "", b).upper()


def read_upload(upload: Upload) -> tuple[instrument_files.ParsedFile, str]:
    """The file read as its format (no database): (parsed file, its text). Refusals: 413 for
    a file over the size cap, 422 naming the field for anything else."""
    file_format = instrument_files.FORMATS.get(str(upload.format or "").strip())
    if file_format is None:
        message = f"unknown format; known: {', '.join(instrument_files.FORMATS)}"
        raise Invalid(message, code="invalid_fields", fields={"format": message})
    if len(upload.content) > instrument_files.MAX_BYTES:
        raise TooLarge(
            f"the file is larger than {instrument_files.MAX_BYTES // (1024 * 1024)} MiB; "
            "split it into smaller exports",
            fields={"file": "too large"},
        )
    mapping = None
    try:
        text = instrument_files.decode(upload.content)
        if file_format.key == "generic":
            mapping = instrument_files.parse_mapping(upload.mapping)
        elif upload.mapping is not None and str(upload.mapping).strip():
            raise instrument_files.FileError("only a generic file takes a mapping", "mapping")
        parsed = instrument_files.parse(text, file_format.key, mapping)
    except instrument_files.FileError as exc:
        raise _unreadable(exc) from None
    return parsed, text


def upload(data: Upload, actor: User) -> QcImport:
    """Read the file, match each result to its unit and judge it; keep the preview."""
    _require_importer(actor)
    parsed, text = read_upload(data)
    lot = kit_lot(data.lot, parsed)
    file_format = instrument_files.FORMATS[parsed.format]
    sha256 = hashlib.sha256(data.content).hexdigest()
    with transaction():
        item = _instrument(data.instrument, file_format)
        if (
            parsed.serial
            and item.serial_number
            and not _same_serial(parsed.serial, item.serial_number)
        ):
            message = (
                f"the file was exported by the instrument with serial number {parsed.serial}; "
                f"{item.code} {item.name} has serial number {item.serial_number}"
            )
            raise Invalid(message, code="wrong_instrument", fields={"instrument": message})
        now = utcnow()
        rows = Previewer(parsed, item, lot, sha256, actor, now).rows()
        imp = QcImport(
            sha256=sha256,
            format=parsed.format,
            filename=file_imports.safe_filename(data.filename),
            equipment_id=item.id,
            mapping=(
                json.dumps(instrument_files.parse_mapping(data.mapping).as_json(), sort_keys=True)
                if parsed.format == "generic"
                else None
            ),
            content=text,
            preview=_dump(rows),
            row_count=len(parsed.rows),
            status=PREVIEWED,
            uploaded_by_id=actor.id,
            uploaded_at=now,
        )
        db.session.add(imp)
        db.session.flush()
    return imp


def _dump(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------- the preview


def source_of(sha256: str, row: str) -> str:
    """What an imported result's ``QcResult.source`` is: ``<sha256>:<row>``."""
    return f"{sha256}:{row}"


def cell_ref(line: int, column: int) -> str:
    """A result's place in its file: line and column (a row of a counter's file carries two
    results, a cytometer's up to eight, so the line alone does not name one)."""
    return f"{line}:{column}"


@dataclass
class _Match:
    unit: Unit | None = None
    why: str | None = None


@dataclass
class Previewer:
    """Builds the preview lines of one parsed file (reads only; a few queries per file)."""

    parsed: instrument_files.ParsedFile
    instrument: Equipment
    lot: str
    sha256: str
    viewer: User
    now: datetime
    _units: dict[str, list[Unit]] = field(default_factory=dict)
    _matches: dict[str, _Match] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        problem = equipment_problem(self.instrument.state(), self.now.date())
        codes_by_sample = {row.sample: self._classify(row.sample) for row in self.parsed.rows}
        self._load_units(
            {c.din.din for c in codes_by_sample.values() if isinstance(c, codes.UnitCode)}
        )
        imported = self._imported()
        out: list[dict[str, Any]] = []
        seen: dict[tuple[int, str], dict[str, Any]] = {}
        for row in self.parsed.rows:
            match = self._match(row.sample, codes_by_sample[row.sample])
            cells = row.cells or (None,)
            for cell in cells:
                line = self._line(len(out) + 1, row, cell, match)
                out.append(line)
                if line["status"] != READY:
                    pass
                elif problem:
                    self._refuse(line, f"instrument not usable: {problem}")
                elif source_of(self.sha256, line["row"]) in imported:
                    self._refuse(line, "already imported: this result of this file is on record")
                else:
                    self._repeated(line, seen)
            if problem:
                for line in out:
                    if line["status"] == READY:
                        self._refuse(line, f"instrument not usable: {problem}")
        return out

    # -- units

    @staticmethod
    def _classify(sample: str) -> codes.Scanned | str:
        if not sample.strip():
            return "no sample id in this row"
        try:
            return codes.classify(sample)
        except CodeError as exc:
            return f"{sample!r} is not a unit identifier: {exc.message}"

    def _load_units(self, dins: set[str]) -> None:
        ordered = sorted(dins)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            for unit in db.session.scalars(
                select(Unit)
                .where(Unit.din.in_(chunk), access.visible_units(self.viewer))
                .order_by(Unit.id)
            ):
                self._units.setdefault(unit.din, []).append(unit)

    def _imported(self) -> set[str]:
        prefix = f"{self.sha256}:"
        return set(
            db.session.scalars(
                select(QcResult.source).where(QcResult.source.startswith(prefix, autoescape=True))
            )
        )

    def _match(self, sample: str, scanned: codes.Scanned | str) -> _Match:
        if sample in self._matches:
            return self._matches[sample]
        self._matches[sample] = found = self._resolve(scanned)
        return found

    def _resolve(self, scanned: codes.Scanned | str) -> _Match:
        if isinstance(scanned, str):
            return _Match(why=scanned)
        if not isinstance(scanned, codes.UnitCode):
            return _Match(why=f"this is a {codes.describe(scanned)} code, not a unit identifier")
        din = scanned.din.din
        units_of = self._units.get(din, [])
        shown = identifiers.eye_readable(din)
        if scanned.product_code is not None:
            named = f"{shown} {scanned.product_code} {scanned.division}"
            unit = next(
                (
                    u
                    for u in units_of
                    if u.product_code == scanned.product_code and u.division == scanned.division
                ),
                None,
            )
            # The same words for a unit this user may not see as for none (decision 61).
            return _Match(unit) if unit else _Match(why=f"no unit is {named}")
        if not units_of:
            return _Match(why=f"no unit has identifier {shown}")
        in_qc = [
            u
            for u in units_of
            if not CATALOGUE[u.unit_type].is_source and Status(u.status) in RECORD_QC.from_statuses
        ]
        if len(in_qc) == 1:
            return _Match(in_qc[0])
        if not in_qc:
            return _Match(why=f"no product of {shown} is in QC (quarantine, released or dispensed)")
        named = ", ".join(f"{u.product_code} {u.division}" for u in in_qc)
        return _Match(
            why=f"{shown} names {len(in_qc)} products in QC ({named}): the sample id must give "
            "the product code and division too (scan the label's Data Matrix)"
        )

    # -- one line

    def _line(
        self,
        n: int,
        row: instrument_files.Row,
        cell: instrument_files.Cell | None,
        match: _Match,
    ) -> dict[str, Any]:
        unit = match.unit
        test = qc.TESTS.get(cell.test) if cell else None
        line: dict[str, Any] = {
            "n": n,
            "line": row.line,
            "column": cell.column if cell else None,
            "header": cell.header if cell else None,
            "row": cell_ref(row.line, cell.column) if cell else str(row.line),
            "sample": row.sample,
            "unit_id": unit.id if unit else None,
            "unit": unit.label if unit else None,
            "unit_type": unit.unit_type if unit else None,
            "test": cell.test if cell else None,
            "test_name": test.name if test else None,
            "raw": f"{cell.raw} {cell.unit}".strip() if cell else None,
            "value": None,
            "value_text": None,
            "note": cell.note if cell else None,
            "verdict": None,
            "spec": None,
            "spec_version": None,
            "lot": self.lot,  # the kit lot it is recorded with
            "status": READY,
            "why": None,
            "result_id": None,
        }
        if row.skip:
            line.update(status=SKIPPED, why=row.skip)
            return line
        reason = (
            match.why
            or row.problem
            or (cell.problem if cell else "no result in this row")
            or self._judge(line, row, cell, unit)
        )
        if reason:
            self._refuse(line, reason)
        return line

    def _judge(
        self,
        line: dict[str, Any],
        row: instrument_files.Row,
        cell: instrument_files.Cell | None,
        unit: Unit | None,
    ) -> str | None:
        """Why the result may not be recorded on the unit, or None (and the line judged)."""
        assert cell is not None and unit is not None
        if Status(unit.status) not in RECORD_QC.from_statuses:
            return (
                f"the unit is {Status(unit.status).label.lower()}: QC is recorded in quarantine "
                "(sterility also after release)"
            )
        spec = qc_service.spec_in_force(unit.unit_type, cell.test)
        if spec is None:
            tests = ", ".join(s.test for s in qc_service.specs_in_force(unit.unit_type)) or "none"
            return f"{cell.test} is not a QC test of {unit.unit_type}; its tests: {tests}"
        value = cell.value
        if cell.per_ml and isinstance(value, float):
            value, how = self._total(row, unit, value)
            if value is None:
                return how
            line["note"] = how
        try:
            parsed = qc.parse_value(spec.qc_test, value)
        except qc.QcError as exc:
            return exc.message
        problem = self._guards(unit, cell.test, parsed)
        if problem:
            return problem
        line.update(
            value=parsed,
            value_text=qc.value_text(spec.qc_test, parsed),
            verdict=qc.judge(spec, parsed).value,
            spec=spec.text,
            spec_version=spec.version,
        )
        return None

    @staticmethod
    def _total(row: instrument_files.Row, unit: Unit, per_ml: float) -> tuple[float | None, str]:
        """A concentration times the sample's volume: the file's, else the unit's."""
        volume, whose = row.volume_ml, "the file's volume"
        if volume is None:
            volume, whose = (float(unit.volume_ml) if unit.volume_ml else None), "the unit's volume"
        if volume is None or volume <= 0:
            return None, "the file gives cells per mL and no volume is on record for the unit"
        total = instrument_files.round_significant(per_ml * volume)
        return total, (
            f"{qc.number_text(per_ml)} cells/mL × {volume:g} mL ({whose}) = "
            f"{qc.number_text(total)} cells"
        )

    def _guards(self, unit: Unit, test: str, value: float | str) -> str | None:
        """The record_qc action's own data guards, on the fields the import will send."""
        try:
            fields = RECORD_QC.fields.model_validate(
                {"test": test, "value": value, "method": "import", "lot": self.lot}
            )
        except ValidationError as exc:
            return "; ".join(err["msg"] for err in exc.errors())
        ctx = Context(unit, fields, Role.TECHNICIAN, self.now)
        for guard in (*RECORD_QC.state_guards, *RECORD_QC.guards):
            problem = guard(ctx)
            if problem:
                return problem
        return None

    @staticmethod
    def _refuse(line: dict[str, Any], why: str) -> None:
        line.update(status=REFUSED, why=why)

    def _repeated(self, line: dict[str, Any], seen: dict[tuple[int, str], dict[str, Any]]) -> None:
        """The same unit and test twice in one file: the same value again is a repeat (the
        first is imported); another value leaves no way to tell which is right (both refused)."""
        key = (line["unit_id"], line["test"])
        first = seen.get(key)
        if first is None:
            seen[key] = line
            return
        if first["value"] == line["value"] and first["status"] == READY:
            self._refuse(line, f"repeated within the file: line {first['line']} gives the same")
            return
        self._refuse(
            line,
            f"line {first['line']} gives {first['value_text'] or first['raw']} for the same "
            "unit and test: which is right is for a person to decide",
        )
        if first["status"] == READY:
            self._refuse(
                first,
                f"line {line['line']} gives {line['value_text'] or line['raw']} for the same "
                "unit and test: which is right is for a person to decide",
            )


# ---------------------------------------------------------------------------- confirming


@dataclass(frozen=True)
class Confirmed:
    imp: QcImport
    job_id: int | None  # the job importing it; None: imported in this request


def _require_recorder(actor: User) -> None:
    if not may_confirm(actor):
        allowed = ", ".join(sorted(Role(r).label for r in RECORD_QC.roles))
        raise Forbidden(
            f"a {actor.role} may not record QC results (allowed: {allowed}), so may not "
            "confirm an import",
            code="role_not_allowed",
        )


def job_threshold() -> int:
    return int(current_app.config.get("QC_IMPORT_JOB_RESULTS", JOB_RESULTS))


def confirm(import_id: object, actor: User) -> Confirmed:
    """Record every ready result (here, or by a job for a large file); once per import."""
    _require_recorder(actor)
    imp = get_import(import_id, actor)
    ready = sum(1 for row in imp.rows if row["status"] == READY)
    job_id = None
    with transaction():
        claimed = db.session.execute(
            update(QcImport)
            .where(QcImport.id == imp.id, QcImport.status == PREVIEWED)
            .values(status=IMPORTING, confirmed_by_id=actor.id, confirmed_at=utcnow())
        ).rowcount
        if not claimed:
            raise Conflict(
                f"import {imp.id} was confirmed already; its results are recorded once",
                code="already_confirmed",
            )
        if ready > job_threshold():
            job = Job(
                kind=JOB_KIND,
                status="queued",
                progress=0,
                total=ready,
                started_by_id=actor.id,
                created_at=utcnow(),
            )
            db.session.add(job)
            db.session.flush()
            job_id = job.id
            db.session.execute(update(QcImport).where(QcImport.id == imp.id).values(job_id=job_id))
    if job_id is not None:
        _dispatch(job_id)
    else:
        record_results(imp.id)
    db.session.expire_all()
    return Confirmed(get_import(imp.id, actor), job_id)


def record_results(import_id: int, progress: Callable[[int], None] | None = None) -> int:
    """Record the ready results of a claimed import, one ``record_qc`` each; the preview then
    says what became of each. Returns how many were recorded."""
    imp = db.session.get(QcImport, import_id)
    assert imp is not None and imp.status == IMPORTING
    actor = db.session.get(User, imp.confirmed_by_id)
    item = db.session.get(Equipment, imp.equipment_id)
    assert actor is not None and item is not None
    rows, sha256 = imp.rows, imp.sha256
    fmt = instrument_files.FORMATS[imp.format]
    base = {
        "sha256": sha256,
        "import_id": imp.id,
        "filename": imp.filename,
        "format": imp.format,
        "instrument": item.code,
    }
    method = f"{item.name} ({fmt.name} file)"[:120]
    code = item.code
    imp_id = imp.id
    db.session.rollback()  # nothing held while the results are recorded one by one
    recorded = done = 0
    try:
        for row in rows:
            if row["status"] != READY:
                continue
            data = {
                "test": row["test"],
                "value": row["value"],
                "method": method,
                "lot": row["lot"],
                "equipment": code,
            }
            provenance = {**base, "row": row["row"], "line": row["line"], "column": row["header"]}
            try:
                units.perform_action(
                    row["unit_id"], "record_qc", data, actor, provenance=provenance
                )
            except ServiceError as exc:
                row.update(status=REFUSED, why=f"refused when importing: {exc.message}")
            else:
                row["status"] = DONE
                recorded += 1
            done += 1
            if progress is not None:
                progress(done)
    except Exception:
        _finish(imp_id, rows, recorded, FAILED)
        raise
    _finish(imp_id, rows, recorded, IMPORTED)
    return recorded


def _with_result_ids(sha256: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each imported line with the id of the result it became (one query for the file)."""
    ids = dict(
        db.session.execute(
            select(QcResult.source, QcResult.id).where(
                QcResult.source.startswith(f"{sha256}:", autoescape=True)
            )
        ).all()
    )
    for row in rows:
        if row["status"] == DONE:
            row["result_id"] = ids.get(source_of(sha256, row["row"]))
    return rows


def _finish(import_id: int, rows: list[dict[str, Any]], recorded: int, status: str) -> None:
    db.session.rollback()
    with transaction():
        sha256 = db.session.scalar(select(QcImport.sha256).where(QcImport.id == import_id))
        rows = _with_result_ids(sha256, rows)
        db.session.execute(
            update(QcImport)
            .where(QcImport.id == import_id)
            .values(preview=_dump(rows), imported_count=recorded, status=status)
        )


# ---------------------------------------------------------------------------- the job


def _dispatch(job_id: int) -> None:
    """To a Celery worker (``lims.qc_import_job``) when a broker is configured; else, or
    when it cannot take the job, a thread of this process (as the ledger verification)."""
    app = current_app._get_current_object()

    def in_a_thread() -> None:
        threading.Thread(
            target=_run_in_thread, args=(app, job_id), name=f"lims-qc-import-{job_id}", daemon=True
        ).start()

    dispatch.enqueue("lims.qc_import_job", job_id, here=in_a_thread, here_if_unreachable=True)


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run_job(job_id)
        except Exception:
            log.exception("QC import job %s stopped", job_id)
        finally:
            db.session.remove()


JOBS = Job.__table__


def run_job(job_id: int) -> str:
    """Claim a queued import job, record its results with progress about every 1 %, finish.

    Returns the job's final status, or ``"skipped"`` when it was not queued (delivered twice,
    or finished): the results are recorded once."""
    with db.engine.begin() as conn:
        claimed = conn.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id, JOBS.c.status == "queued", JOBS.c.kind == JOB_KIND)
            .values(status="running", started_at=utcnow())
        ).rowcount
    if not claimed:
        return "skipped"
    import_id = db.session.scalar(select(QcImport.id).where(QcImport.job_id == job_id))
    db.session.rollback()
    writer = _Progress(job_id)
    try:
        if import_id is None:
            raise LookupError(f"no import has job {job_id}")
        record_results(import_id, writer)
    except Exception as exc:
        log.exception("QC import job %s failed", job_id)
        _end_job(job_id, "failed", writer.done, error=_describe(exc))
        return "failed"
    _end_job(job_id, "done", writer.done)
    return "done"


class _Progress:
    """Progress in a short transaction of its own about every 1 % of the job."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        with db.engine.begin() as conn:
            total = conn.scalar(select(JOBS.c.total).where(JOBS.c.id == job_id)) or 0
        self.step = max(1, total // PROGRESS_STEPS)
        self.done = 0
        self._written = 0

    def __call__(self, done: int) -> None:
        self.done = done
        if done - self._written < self.step:
            return
        self._written = done
        try:
            with db.engine.begin() as conn:
                conn.execute(update(JOBS).where(JOBS.c.id == self.job_id).values(progress=done))
        except Exception:  # a busy database: the bar skips a step, the import goes on
            log.warning("progress of job %s not written", self.job_id, exc_info=True)


def _end_job(job_id: int, status: str, progress: int, error: str | None = None) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(status=status, progress=progress, finished_at=utcnow(), error=error)
        )


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


# ---------------------------------------------------------------------------- one go


def import_file(data: Upload, actor: User, *, dry_run: bool = False) -> QcImport:
    """Upload and confirm in one go, here (the command line: an instrument PC's watch
    folder). ``dry_run``: the preview only, kept as an import never confirmed."""
    if not dry_run:
        _require_recorder(actor)
    imp = upload(data, actor)
    if dry_run:
        return imp
    with transaction():
        db.session.execute(
            update(QcImport)
            .where(QcImport.id == imp.id, QcImport.status == PREVIEWED)
            .values(status=IMPORTING, confirmed_by_id=actor.id, confirmed_at=utcnow())
        )
    record_results(imp.id)
    db.session.expire_all()
    return get_import(imp.id, actor)


def importer(username: str) -> User:
    """The active account a command-line import runs as."""
    user = db.session.scalar(select(User).where(User.username == str(username).strip()))
    if user is None or not user.active:
        raise NotFound(f"no active user {str(username)[:40]!r}", code="unknown_user")
    return user


def refused_rows(imp: QcImport) -> Iterable[dict[str, Any]]:
    return (row for row in imp.rows if row["status"] == REFUSED)
