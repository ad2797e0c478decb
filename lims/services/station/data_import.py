"""Bulk import of what a lab already has: patients, units (with their history up to a status),
locations and users, from a CSV or XLSX file (decisions 109-110; docs/import.md).

1. **Dry run** (``upload``, admins): the file is kept as uploaded (its SHA-256 over the bytes)
   and every row is matched to the records by its natural key — MRN, DIN + product code +
   division, location code (or parent and name), username — and judged: ``created``,
   ``updated``, ``unchanged``, or ``refused`` with the reason beside each bad cell (row and
   column). Nothing is written but the import's own row.
2. **Confirm** (``confirm``): only a dry run without a refused row; the import then runs as a
   job (a Celery task ``lims.data_import_job``, or a thread without a broker) with progress,
   **all or nothing**: the rows are judged again against the records as they are then, and
   either every row is written in one transaction or none (a row refused then fails the job
   with the reason, nothing written).
3. **Ledger**: each created or updated record gets one ``import`` entry citing the file's
   SHA-256, its name, the import and the row, with what the file said (an imported unit's
   history — collected, received, processed, released, administered — is in the entry's data,
   never written as if those actions had happened in the app). Entries are appended in bulk
   (``ledger.append_many``).

Importing the same file twice creates nothing twice: every row of the second is
``unchanged``. A unit already on record is never rewritten (its history after that is the
app's); a patient's name or birth date is never changed by a file (identity), nor an
account's role or sites.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, select, update

from ...db import lock, transaction
from ...domain import codes, identifiers, import_files
from ...domain.catalogue import CATALOGUE
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from ...domain.identifiers import CodeError
from ...domain.lifecycle import FINAL_STATUSES, Status
from ...domain.roles import PEOPLE, Role
from ...extensions import db
from ...models import Job, Location, Patient, Site, TherapyCourse, Unit, User
from ...models.data_import import DataImport
from ...models.location import LOCATION_KINDS
from ...models.types import utcnow
from .. import sequences
from ..actions import courses
from ..admin import accounts
from ..custody import jobs, ledger
from . import file_imports
from .file_imports import TooLarge

log = logging.getLogger(__name__)

JOB_KIND = "data_import"
ACTION = "import"  # the ledger entries' action
CHUNK = 5000  # keys per query (fewer scans of a table not yet analysed after a bulk insert)
INSERT_BATCH = 2000  # rows per multi-row INSERT
# An import's status.
PREVIEWED, IMPORTING, IMPORTED, FAILED = "previewed", "importing", "imported", "failed"
# A row's result.
CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
ROW_STATUSES = (CREATED, UPDATED, UNCHANGED, REFUSED)
KINDS = import_files.KINDS
# Statuses an imported unit may have (decision 110): a unit in transit or in processing is
# imported once it has arrived or been processed, when its next step can be the app's.
SOURCE_STATUSES = frozenset(
    {
        Status.COLLECTED,
        Status.RECEIVED,
        Status.PROCESSED,
        Status.REJECTED,
        Status.DISCARDED,
        Status.EXPIRED,
    }
)
# A product that could still reach a patient (released, dispensed, returned) is not imported
# as such: it comes in quarantine and QA releases it here, on its QC results and with a
# signature, so nothing reaches a patient on a release this LIMS never checked (decision 110).
STILL_TO_GIVE = frozenset({Status.RELEASED, Status.DISPENSED, Status.RETURNED})
PRODUCT_STATUSES = frozenset(
    {
        Status.QUARANTINE,
        Status.ADMINISTERED,
        Status.REJECTED,
        Status.DISCARDED,
        Status.EXPIRED,
    }
)
# The history a units row may give, in the order it happened.
HISTORY = ("collected_at", "received_at", "processed_at", "released_at", "administered_at")
FINAL = [s.value for s in FINAL_STATUSES]
NEEDS = {  # a status and the time the file must give for it
    Status.RECEIVED: "received_at",
    Status.PROCESSED: "processed_at",
    Status.RELEASED: "released_at",
    Status.DISPENSED: "released_at",
    Status.ADMINISTERED: "administered_at",
}
UNUSABLE_PASSWORD = "!imported"  # no password matches it (decision 110)
DIVISION = re.compile(r"^[0-9A-Z]{2}$")
USERNAME = accounts.USERNAME_RE
EMAIL = accounts.EMAIL_RE


@dataclass(frozen=True)
class Upload:
    """What the form, the API or the command line hands in."""

    content: bytes
    filename: str
    kind: str


@dataclass(frozen=True)
class Summary(file_imports.Progress):
    """An import as its page and the API show it: counts and the job's progress."""

    @property
    def words(self) -> str:
        c = self.counts
        tally = (
            f"{c.get(CREATED, 0)} to create, {c.get(UPDATED, 0)} to update, "
            f"{c.get(UNCHANGED, 0)} unchanged, {c.get(REFUSED, 0)} refused"
        )
        if self.status == PREVIEWED:
            if c.get(REFUSED):
                return f"Dry run: {tally}. Fix the refused cells and upload the file again."
            return f"Dry run: {tally}. Nothing is written until it is confirmed."
        if self.status == IMPORTING:
            if self.job_status == "queued":
                return f"Waiting to start: {self.total} rows to import."
            return f"Importing: {self.progress} of {self.total} rows ({self.percent} %)."
        if self.status == FAILED:
            return f"Nothing was imported: {self.error or 'the process running it ended'}."
        return (
            f"Imported: {c.get(CREATED, 0)} created, {c.get(UPDATED, 0)} updated, "
            f"{c.get(UNCHANGED, 0)} unchanged."
        )


def _require_admin(user: User) -> None:
    """An administrator; or the scheduler's account, which never signs in: the command line
    run without ``--user`` (whoever has the server's shell is not an account)."""
    if user.role not in (Role.ADMIN.value, Role.SYSTEM.value):
        raise Forbidden("only an administrator imports files of records", code="role_not_allowed")


def kind_of(key: object) -> import_files.Kind:
    found = KINDS.get(key) if isinstance(key, str) else None
    if found is None:
        known = ", ".join(KINDS)
        raise Invalid(
            f"unknown kind of import; known: {known}",
            code="invalid_fields",
            fields={"kind": f"one of: {known}"},
        )
    return found


# ---------------------------------------------------------------------------- reading


def get_import(import_id: object, viewer: User) -> DataImport:
    _require_admin(viewer)
    return file_imports.by_id(DataImport, import_id, "import")


def recent_imports(viewer: User, limit: int = 50) -> list[DataImport]:
    _require_admin(viewer)
    return file_imports.recent(DataImport, limit)


def summary(imp: DataImport, rows: list[dict[str, Any]] | None = None) -> Summary:
    """The import's state; ``rows``: its rows when the caller has read them. A bar polling a
    running job gets no counts (a 10 000-row dry run is megabytes to read)."""
    status = imp.status
    job = db.session.get(Job, imp.job_id) if imp.job_id else None
    running = job is not None and job.status in ("queued", "running")
    counts = dict.fromkeys(ROW_STATUSES, 0)
    if rows is not None or not running:
        counts = file_imports.count_rows(imp.rows if rows is None else rows, ROW_STATUSES)
    if job is None:
        return Summary(status, counts, error=imp.error)
    if running:
        status = IMPORTING
    elif job.status == "failed" and status not in (IMPORTED, FAILED):
        status = FAILED
    error = imp.error or (job.error.split(";")[0] if job.error else None)
    return Summary(status, counts, job.status, job.progress, job.total, error)


def refused_rows(imp: DataImport) -> list[dict[str, Any]]:
    return [row for row in imp.rows if row["status"] == REFUSED]


def template(kind: object, file_format: object) -> tuple[bytes, str, str]:
    """A kind's template with example rows: (content, filename, media type)."""
    found = kind_of(kind)
    if file_format == import_files.XLSX:
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return import_files.template_xlsx(found), f"{found.key}-template.xlsx", media
    if file_format == import_files.CSV:
        return import_files.template_csv(found), f"{found.key}-template.csv", "text/csv"
    raise NotFound("templates come as csv or xlsx", code="unknown_format")


# ---------------------------------------------------------------------------- the dry run


def read_upload(data: Upload) -> tuple[import_files.Kind, import_files.Table]:
    """The file read as a table of its kind (no database): 413 over the size cap, 422 naming
    the field for anything else."""
    kind = kind_of(data.kind)
    if len(data.content) > import_files.MAX_BYTES:
        raise TooLarge(
            f"the file is larger than {import_files.MAX_BYTES // (1024 * 1024)} MiB; split it",
            fields={"file": "too large"},
        )
    try:
        table = import_files.read(data.content, file_imports.safe_filename(data.filename), kind)
    except import_files.FileError as exc:
        raise Invalid(exc.message, code="unreadable_file", fields={"file": exc.message}) from None
    return kind, table


def upload(data: Upload, actor: User) -> DataImport:
    """Read the file and judge every row (the dry run); keep it to be confirmed."""
    _require_admin(actor)
    kind, table = read_upload(data)
    sha256 = hashlib.sha256(data.content).hexdigest()
    with transaction():
        plan = PLANNERS[kind.key](table, actor, utcnow()).plan()
        imp = DataImport(
            kind=kind.key,
            sha256=sha256,
            filename=file_imports.safe_filename(data.filename),
            file_format=table.format,
            content=data.content,
            preview=_dump([row.shown() for row in plan]),
            row_count=len(table.rows),
            status=PREVIEWED,
            uploaded_by_id=actor.id,
            uploaded_at=utcnow(),
        )
        db.session.add(imp)
        db.session.flush()
    return imp


def _dump(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Row:
    """One row of the file and what becomes of it."""

    number: int
    cells: dict[str, str]
    key: str = ""
    status: str = CREATED
    problems: dict[str, str] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)  # updated: column -> new value
    values: dict[str, Any] = field(default_factory=dict)  # read and checked, for writing
    record_id: int | None = None

    def refuse(self, column: str, why: str) -> None:
        self.problems.setdefault(column, why)
        self.status = REFUSED

    @property
    def refused(self) -> bool:
        return self.status == REFUSED

    def shown(self) -> dict[str, Any]:
        return {
            "row": self.number,
            "key": self.key,
            "status": self.status,
            "problems": self.problems,
            "changes": sorted(self.changes),
            "cells": self.cells,
            "record_id": self.record_id,
        }


class Planner:
    """Reads a kind's rows against the records; ``write`` then writes the plan (one
    transaction, the caller's)."""

    kind: str

    def __init__(self, table: import_files.Table, actor: User, now: datetime) -> None:
        self.table = table
        self.actor = actor
        self.now = now
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.rows = [Row(number, dict(cells)) for number, cells in table.rows]
        self.sites = {s.code: s for s in db.session.scalars(select(Site).order_by(Site.id))}
        self.first_site = next(iter(self.sites.values()), None)

    def plan(self) -> list[Row]:
        raise NotImplementedError

    def write(self, rows: list[Row], provenance: dict[str, Any], progress: Progress) -> None:
        raise NotImplementedError

    def record(
        self, rows: list[Row], provenance: dict[str, Any], facts: Callable[[Row], dict]
    ) -> None:
        """One import entry per created or updated record (no unit): where it came from, its
        facts, and for an update the fields it changed."""
        still = ledger.Movement(None, None, None, None, None, None)
        drafts = [
            ledger.Draft(
                ACTION,
                still,
                _entry_data(
                    row,
                    provenance,
                    **facts(row),
                    fields=sorted(row.changes) if row.status == UPDATED else None,
                ),
            )
            for row in rows
            if row.status in (CREATED, UPDATED)
        ]
        ledger.append_many(drafts, actor=self.actor, at=self.now)

    # -- cells

    def text(self, row: Row, column: str, limit: int, *, required: bool = False) -> str | None:
        value = " ".join(row.cells.get(column, "").split())
        if not value:
            if required:
                row.refuse(column, "required")
            return None
        if len(value) > limit:
            row.refuse(column, f"at most {limit} characters")
            return None
        return value

    def when(self, row: Row, column: str, *, required: bool = False) -> datetime | None:
        text = row.cells.get(column, "").strip()
        if not text:
            if required:
                row.refuse(column, "required")
            return None
        try:
            moment = import_files.parse_time(text, self.zone)
        except import_files.CellError as exc:
            row.refuse(column, exc.message)
            return None
        if moment > self.now + timedelta(minutes=5):
            row.refuse(column, "in the future")
            return None
        return moment

    def site(self, row: Row, column: str, default: Site | None) -> Site | None:
        code = row.cells.get(column, "").strip().upper()
        if not code:
            return default or self.first_site
        site = self.sites.get(code)
        if site is None:
            row.refuse(column, f"no site has facility number {code}")
        return site


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _repeated(rows: Sequence[Row], column: str) -> None:
    """The same key twice in one file: the later row is refused."""
    seen: dict[str, int] = {}
    for row in rows:
        if not row.key or row.refused:
            continue
        first = seen.setdefault(row.key, row.number)
        if first != row.number:
            row.refuse(column, f"row {first} gives the same {column}")


def _entry_data(row: Row, provenance: dict[str, Any], **facts: Any) -> dict[str, Any]:
    return {**provenance, "row": row.number, "result": row.status, **facts}


# ---------------------------------------------------------------------------- patients


class PatientPlanner(Planner):
    kind = "patients"

    def plan(self) -> list[Row]:
        clinicians = {
            u.username: u
            for u in db.session.scalars(
                select(User).where(User.role == Role.CLINICIAN.value, User.active.is_(True))
            )
        }
        for row in self.rows:
            mrn = self.text(row, "mrn", 32, required=True)
            if mrn and not re.fullmatch(r"[A-Za-z0-9\-/]+", mrn):
                row.refuse("mrn", "letters, digits, - and / only")
            row.key = mrn or ""
            name = self.text(row, "name", 120, required=True)
            if name and len(name) < 2:
                row.refuse("name", "2 to 120 characters")
            birth = None
            if row.cells.get("birth_date", "").strip():
                try:
                    birth = import_files.parse_date(row.cells["birth_date"].strip())
                except import_files.CellError as exc:
                    row.refuse("birth_date", exc.message)
                else:
                    if birth > self.now.date() or birth.year < 1900:
                        row.refuse("birth_date", "not a plausible birth date")
            clinician = None
            username = (row.cells.get("clinician") or "").strip().lower()
            if username:
                clinician = clinicians.get(username)
                if clinician is None:
                    row.refuse("clinician", f"no active clinician {username!r}")
            row.values = {
                "mrn": mrn,
                "name": name,
                "birth_date": birth,
                "clinician_id": clinician.id if clinician else None,
                "diagnosis": self.text(row, "diagnosis", 80),
                "stage": self.text(row, "stage", 40),
            }
        _repeated(self.rows, "mrn")
        self._match()
        return self.rows

    def _match(self) -> None:
        by_mrn: dict[str, Patient] = {}
        for chunk in _chunks(r.key for r in self.rows if r.key):
            by_mrn.update(
                (p.mrn, p)
                for p in db.session.scalars(select(Patient).where(Patient.mrn.in_(chunk)))
            )
        columns = set(self.table.rows[0][1]) if self.table.rows else set()
        for row in self.rows:
            patient = by_mrn.get(row.key)
            if row.refused or patient is None:
                continue
            row.record_id = patient.id
            v = row.values
            same_name = " ".join(patient.name.split()).casefold() == (v["name"] or "").casefold()
            if not same_name:
                row.refuse(
                    "name",
                    f"record number {row.key} is {patient.name} on record: a file never "
                    "changes a patient's identity",
                )
            if v["birth_date"] and patient.birth_date and patient.birth_date != v["birth_date"]:
                row.refuse(
                    "birth_date",
                    f"{patient.birth_date.isoformat()} on record: a file never changes a "
                    "patient's identity",
                )
            if row.refused:
                continue
            if v["birth_date"] and patient.birth_date is None:
                row.changes["birth_date"] = v["birth_date"]
            for name in ("clinician_id", "diagnosis", "stage"):
                column = "clinician" if name == "clinician_id" else name
                if column in columns and v[name] is not None and getattr(patient, name) != v[name]:
                    row.changes[name] = v[name]
            row.status = UPDATED if row.changes else UNCHANGED

    def write(self, rows: list[Row], provenance: dict[str, Any], progress: Progress) -> None:
        facility = current_app.config["FACILITY_CODE"]
        new = [r for r in rows if r.status == CREATED]
        first = sequences.take_block(f"P{facility}", 0, len(new)) if new else 0
        values = []
        for offset, row in enumerate(new):
            v = row.values
            values.append(
                {
                    **v,
                    "wristband": identifiers.make_wristband(facility, first + offset),
                    "created_at": self.now,
                }
            )
        table = Patient.__table__
        ids: dict[str, int] = {}
        for start in range(0, len(values), INSERT_BATCH):
            part = values[start : start + INSERT_BATCH]
            db.session.execute(table.insert(), part)  # the ids read back below (see units)
            progress.add(len(part))
        for chunk in _chunks(r.key for r in new):
            ids.update(
                db.session.execute(
                    select(table.c.mrn, table.c.id).where(table.c.mrn.in_(chunk))
                ).all()
            )
        for row in rows:
            if row.status == UPDATED:
                db.session.execute(
                    update(Patient).where(Patient.id == row.record_id).values(**row.changes)
                )
                progress.add(1)
            elif row.status == CREATED:
                row.record_id = ids[row.key]
        self.record(rows, provenance, lambda row: {"patient_id": row.record_id, "mrn": row.key})


# ---------------------------------------------------------------------------- units


def _unit_key(din: str, product_code: str, division: str) -> str:
    return f"{din} {product_code} {division}"


class UnitPlanner(Planner):
    kind = "units"

    def plan(self) -> list[Row]:
        for row in self.rows:
            self._read(row)
        _repeated(self.rows, "din")
        self._match()
        return self.rows

    def _read(self, row: Row) -> None:
        v: dict[str, Any] = {}
        row.values = v
        din_text = row.cells.get("din", "").strip()
        parsed = None
        if not din_text:
            row.refuse("din", "required")
        else:
            try:
                parsed = identifiers.parse_din(din_text)
            except CodeError as exc:
                row.refuse("din", exc.message)
        kind = None
        type_key = row.cells.get("type", "").strip().upper()
        if not type_key:
            row.refuse("type", "required")
        elif type_key not in CATALOGUE:
            row.refuse("type", f"unknown type; known: {', '.join(CATALOGUE)}")
        else:
            kind = CATALOGUE[type_key]
        product_code = row.cells.get("product_code", "").strip().upper()
        if kind is not None:
            if product_code and product_code != kind.product_code:
                row.refuse(
                    "product_code", f"{kind.key} has product code {kind.product_code}, not this"
                )
            product_code = kind.product_code
        division = row.cells.get("division", "").strip().upper() or "00"
        if not DIVISION.match(division):
            row.refuse("division", "two characters, 0-9 and A-Z")
        if parsed is not None:
            v.update(din=parsed.din, check_character=parsed.check_character)
            row.key = _unit_key(parsed.din, product_code, division)
        v.update(kind=kind, product_code=product_code, division=division)
        v["mrn"] = self.text(row, "mrn", 32, required=True)
        status_text = row.cells.get("status", "").strip().lower().replace(" ", "_")
        status = None
        if not status_text:
            row.refuse("status", "required")
        elif status_text not in {s.value for s in Status}:
            row.refuse("status", f"unknown status; known: {', '.join(s.value for s in Status)}")
        else:
            status = Status(status_text)
            allowed = SOURCE_STATUSES if kind is None or kind.is_source else PRODUCT_STATUSES
            if status in STILL_TO_GIVE and allowed is PRODUCT_STATUSES:
                row.refuse(
                    "status",
                    f"a product still to be given is imported in quarantine, not {status.value}: "
                    "QA releases it here, on its QC results and with a signature",
                )
            elif status not in allowed:
                what = "a source collection" if kind is None or kind.is_source else "a product"
                row.refuse(
                    "status",
                    f"{what} is imported as {', '.join(sorted(s.value for s in allowed))}: a unit "
                    "in transit or in processing is imported once it has arrived or been processed",
                )
        v["status"] = status
        for column in HISTORY:
            v[column] = self.when(row, column, required=column == "collected_at")
        v["expires_at"] = self.when(row, "expires_at") if row.cells.get("expires_at") else None
        if status in NEEDS and not v.get(NEEDS[status]) and NEEDS[status] not in row.problems:
            row.refuse(NEEDS[status], f"required for a unit {status.label}")
        previous = None
        for column in HISTORY:
            moment = v.get(column)
            if moment is None:
                continue
            if previous is not None and moment < v[previous]:
                row.refuse(column, f"before {previous} ({row.cells[previous]})")
            previous = column
        volume = row.cells.get("volume_ml", "").strip()
        if not volume:
            row.refuse("volume_ml", "required")
        else:
            try:
                v["volume_ml"] = import_files.parse_number(volume, low=0.01, high=5000)
            except import_files.CellError as exc:
                row.refuse("volume_ml", exc.message)
        count = row.cells.get("cell_count", "").strip()
        v["cell_count"] = None
        if count:
            try:
                v["cell_count"] = import_files.parse_count(count)
            except import_files.CellError as exc:
                row.refuse("cell_count", exc.message)
        where = (row.cells.get("collection_site") or "").strip().lower() or None
        if where and kind is not None:
            if not kind.is_source:
                row.refuse("collection_site", "a product has no collection site (its source has)")
            elif kind.collection_sites and where not in kind.collection_sites:
                row.refuse("collection_site", f"one of: {', '.join(kind.collection_sites)}")
        v["collection_site"] = where
        testing = (row.cells.get("donor_testing") or "").strip().lower() or None
        if testing not in (None, "performed", "not_performed"):
            row.refuse("donor_testing", "performed, not_performed or empty")
        v["donor_testing"] = testing
        parent_code = (row.cells.get("parent_product_code") or "").strip().upper()
        parent_division = (row.cells.get("parent_division") or "").strip().upper() or "00"
        v["parent"] = None
        if parent_code:
            if kind is not None and kind.is_source:
                row.refuse("parent_product_code", "a source collection is made from nothing")
            elif parsed is not None:
                v["parent"] = _unit_key(parsed.din, parent_code, parent_division)
        default = self.sites.get(parsed.facility) if parsed is not None else None
        v["site"] = self.site(row, "site", default)
        v["location_code"] = None
        location = (row.cells.get("location") or "").strip()
        if location:
            try:
                scanned = codes.classify(location)
            except CodeError as exc:
                row.refuse("location", exc.message)
            else:
                if isinstance(scanned, codes.LocationCode):
                    v["location_code"] = scanned.code
                else:
                    row.refuse("location", f"a {codes.describe(scanned)} code, not a location's")
        course = (row.cells.get("chain_of_identity") or "").strip()
        v["course"] = None
        if course:
            if course.lower() == "new":
                v["course"] = "new"
            else:
                try:
                    v["course"] = identifiers.parse_chain_of_identity(course)
                except CodeError as exc:
                    row.refuse("chain_of_identity", exc.message)

    def _match(self) -> None:
        rows = self.rows
        existing: dict[str, tuple[int, int, str]] = {}
        for chunk in _chunks(r.values["din"] for r in rows if r.values.get("din")):
            for uid, din, pc, div, patient_id, unit_type in db.session.execute(
                select(
                    Unit.id,
                    Unit.din,
                    Unit.product_code,
                    Unit.division,
                    Unit.patient_id,
                    Unit.unit_type,
                ).where(Unit.din.in_(chunk))
            ):
                existing[_unit_key(din, pc, div)] = (uid, patient_id, unit_type)
        patients: dict[str, int] = {}
        for chunk in _chunks(r.values["mrn"] for r in rows if r.values.get("mrn")):
            patients.update(
                db.session.execute(
                    select(Patient.mrn, Patient.id).where(Patient.mrn.in_(chunk))
                ).all()
            )
        locations: dict[str, Location] = {}
        for chunk in _chunks(r.values["location_code"] for r in rows if r.values["location_code"]):
            locations.update(
                (loc.code, loc)
                for loc in db.session.scalars(select(Location).where(Location.code.in_(chunk)))
            )
        held = self._occupants([loc.id for loc in locations.values() if loc.kind == "position"])
        in_file: dict[str, Row] = {}
        for row in rows:
            v = row.values
            patient_id = patients.get(v["mrn"]) if v["mrn"] else None
            if v["mrn"] and patient_id is None:
                row.refuse(
                    "mrn", f"no patient with record number {v['mrn']}: import the patients first"
                )
            v["patient_id"] = patient_id
            if v["location_code"]:
                self._place(row, locations.get(v["location_code"]), held)
            v.setdefault("location_id", None)
            parent = v["parent"]
            if parent:
                earlier = in_file.get(parent)
                if earlier is not None:
                    if earlier.refused:
                        row.refuse(
                            "parent_product_code", f"its parent (row {earlier.number}) is refused"
                        )
                    elif earlier.values["patient_id"] != patient_id:
                        row.refuse("mrn", f"its parent (row {earlier.number}) is another patient's")
                elif parent in existing:
                    if existing[parent][1] != patient_id:
                        row.refuse("mrn", "its parent on record is another patient's")
                else:
                    row.refuse(
                        "parent_product_code",
                        f"no unit {parent} on record or earlier in the file",
                    )
            found_unit = existing.get(row.key)
            if found_unit is not None and not row.refused:
                row.record_id = found_unit[0]
                if found_unit[1] != patient_id:
                    row.refuse("mrn", f"unit {row.key} is on record for another patient")
                elif v["kind"] is not None and found_unit[2] != v["kind"].key:
                    row.refuse("type", f"unit {row.key} is on record as {found_unit[2]}")
                else:
                    row.status = UNCHANGED  # on record: its history since is the app's
            if row.key and row.key not in in_file:
                in_file[row.key] = row
        self._check_courses(rows)

    @staticmethod
    def _occupants(position_ids: list[int]) -> dict[int, tuple[str, str]]:
        """Who is in each position now (a unit not administered, discarded …): its key, and
        how a refusal names it."""
        held: dict[int, tuple[str, str]] = {}
        for chunk in _chunks(position_ids):
            for location_id, din, pc, div in db.session.execute(
                select(Unit.location_id, Unit.din, Unit.product_code, Unit.division).where(
                    Unit.location_id.in_(chunk), Unit.status.not_in(FINAL)
                )
            ):
                key = _unit_key(din, pc, div)
                held[location_id] = (key, f"unit {key} on record")
        return held

    def _place(self, row: Row, place: Location | None, held: dict[int, tuple[str, str]]) -> None:
        """Where the unit is stored, by the storage rules: a location of its site, a box's
        position rather than the box, one unit to a position (on record or in the file)."""
        v = row.values
        if place is None:
            row.refuse("location", f"no location has code {v['location_code']}")
        elif v["site"] is not None and place.site_id not in (None, v["site"].id):
            row.refuse("location", "the location is at another site than the unit")
        elif place.is_grid:
            row.refuse("location", f"{place.name} is a box of positions: name the position")
        elif place.kind == "position" and v["status"] is not None and not v["status"].is_final:
            other = held.get(place.id)
            if other is not None and other[0] != row.key:
                row.refuse("location", f"position {place.path} already holds {other[1]}")
            else:
                held[place.id] = (row.key, f"the unit of row {row.number}")
                v["location_id"] = place.id
        else:
            v["location_id"] = place.id

    def _check_courses(self, rows: list[Row]) -> None:
        """A course named must be one of the patient's (decision 104); a product takes its
        parent's, so it names none of its own or the same."""
        named = {r.values["course"] for r in rows if r.values["course"] not in (None, "new")}
        owners: dict[str, int] = {}
        for chunk in _chunks(named):
            owners.update(
                db.session.execute(
                    select(TherapyCourse.code, TherapyCourse.patient_id).where(
                        TherapyCourse.code.in_(chunk)
                    )
                ).all()
            )
        for row in rows:
            code = row.values["course"]
            if row.refused or code in (None, "new"):
                continue
            if code not in owners:
                row.refuse(
                    "chain_of_identity",
                    f"no therapy course {code} on record: leave it empty (the patient's latest "
                    "course, or a new one) or write new",
                )
            elif owners[code] != row.values["patient_id"]:
                row.refuse("chain_of_identity", f"therapy course {code} is another patient's")

    def _courses(self, new: list[Row]) -> None:
        """Each new unit's chain of identity: a product its parent's; a collection the course
        the file names, a new one ("new"), or else the patient's latest (or a new one),
        through ``courses.assign`` as at registration."""
        patients = {
            p.id: p
            for chunk in _chunks(r.values["patient_id"] for r in new)
            for p in db.session.scalars(select(Patient).where(Patient.id.in_(chunk)))
        }
        by_key: dict[str, str] = {}
        latest: dict[int, str] = {}
        for row in new:
            v = row.values
            parent = v["parent"]
            code = None
            if parent:
                code = by_key.get(parent)
                if code is None:
                    din, pc, div = parent.split(" ")
                    code = db.session.scalar(
                        select(Unit.chain_of_identity).where(
                            Unit.din == din, Unit.product_code == pc, Unit.division == div
                        )
                    )
            if code is None:
                requested = v["course"]
                if requested is None and v["patient_id"] in latest:
                    code = latest[v["patient_id"]]
                else:
                    site = v["site"] or self.first_site
                    course, _ = courses.assign(
                        patients[v["patient_id"]], requested, site, self.actor, v["collected_at"]
                    )
                    code = course.code
                    latest[v["patient_id"]] = code
            v["chain_of_identity"] = code
            by_key[row.key] = code

    def write(self, rows: list[Row], provenance: dict[str, Any], progress: Progress) -> None:
        new = [r for r in rows if r.status == CREATED]
        self._raise_sequences(new)
        self._courses(new)
        table = Unit.__table__
        ids: dict[str, int] = {}
        # A plain multi-row INSERT (psycopg pipelines it), then the ids read back by DIN: an
        # INSERT … RETURNING of thousands of rows is one statement the driver must parse.
        for start in range(0, len(new), INSERT_BATCH):
            part = new[start : start + INSERT_BATCH]
            db.session.execute(table.insert(), [self._unit_values(r) for r in part])
            progress.add(len(part))
        for chunk in _chunks(r.values["din"] for r in new):
            for uid, din, pc, div in db.session.execute(
                select(table.c.id, table.c.din, table.c.product_code, table.c.division).where(
                    table.c.din.in_(chunk)
                )
            ):
                ids[_unit_key(din, pc, div)] = uid
        for row in new:
            row.record_id = ids[row.key]
        parents = [
            {"child": row.record_id, "parent": ids.get(row.values["parent"]) or self._existing(row)}
            for row in new
            if row.values["parent"]
        ]
        if parents:
            db.session.execute(
                table.update()
                .where(table.c.id == bindparam("child"))
                .values(parent_id=bindparam("parent")),
                parents,
            )
        drafts = [self._draft(row, provenance) for row in new]
        ledger.append_many(drafts, actor=self.actor, at=self.now)

    def _existing(self, row: Row) -> int | None:
        din, pc, div = row.values["parent"].split(" ")
        return db.session.scalar(
            select(Unit.id).where(Unit.din == din, Unit.product_code == pc, Unit.division == div)
        )

    def _raise_sequences(self, rows: list[Row]) -> None:
        """An imported DIN of a facility of ours is never handed out again (decision 110)."""
        highest: dict[tuple[str, int], int] = {}
        for row in rows:
            din = row.values["din"]
            if din[:5] in self.sites:
                scope = (din[:5], 2000 + int(din[5:7]))
                highest[scope] = max(highest.get(scope, 0), int(din[7:]))
        for (facility, year), value in sorted(highest.items()):
            sequences.at_least(facility, year, value)

    def _unit_values(self, row: Row) -> dict[str, Any]:
        v = row.values
        kind = v["kind"]
        status: Status = v["status"]
        expires = v["expires_at"]
        if expires is None:
            start = (
                v["collected_at"] if kind.is_source else (v["processed_at"] or v["collected_at"])
            )
            expires = start + kind.shelf_life
        return {
            "din": v["din"],
            "check_character": v["check_character"],
            "product_code": v["product_code"],
            "division": v["division"],
            "unit_type": kind.key,
            "patient_id": v["patient_id"],
            "parent_id": None,
            "status": status.value,
            "custodian_id": None,
            "location_id": v["location_id"],
            "site_id": v["site"].id if v["site"] is not None else None,
            "volume_ml": v["volume_ml"],
            "cell_count": v["cell_count"],
            "collection_site": v["collection_site"],
            "collected_at": v["collected_at"],
            "collected_by_id": None,
            "donor_testing": v["donor_testing"],
            "received_at": v["received_at"],
            "processing_started_at": None,
            "processed_at": v["processed_at"],
            "expires_at": expires,
            "deviation": False,
            "thawed_at": None,
            "released_at": v["released_at"],
            "exceptional_release": False,
            "administered_at": v["administered_at"],
            "chain_of_identity": v["chain_of_identity"],
            "qc_alert": None,
            "created_at": self.now,
            "updated_at": self.now,
            "version": 1,
        }

    def _draft(self, row: Row, provenance: dict[str, Any]) -> ledger.Draft:
        v = row.values
        history = {c: v[c] for c in HISTORY if v[c] is not None}
        return ledger.Draft(
            ACTION,
            ledger.Movement(None, v["status"].value, None, None, None, v["location_id"]),
            _entry_data(
                row,
                provenance,
                patient_id=v["patient_id"],
                mrn=v["mrn"],
                type=v["kind"].key,
                volume_ml=v["volume_ml"],
                cell_count=v["cell_count"],
                site=v["site"].code if v["site"] is not None else None,
                parent=v["parent"],
                chain_of_identity=v["chain_of_identity"],
                history=history,
            ),
            unit_id=row.record_id,
            din=v["din"],
            product_code=v["product_code"],
            division=v["division"],
        )


# ---------------------------------------------------------------------------- locations


class LocationPlanner(Planner):
    kind = "locations"

    def plan(self) -> list[Row]:
        by_code = {}
        codes_given = [r.cells.get("code", "").strip() for r in self.rows]
        canonical: list[str | None] = []
        for row, given in zip(self.rows, codes_given, strict=True):
            code = None
            if given:
                try:
                    scanned = codes.classify(given)
                except CodeError as exc:
                    row.refuse("code", exc.message)
                else:
                    if isinstance(scanned, codes.LocationCode):
                        code = scanned.code
                    else:
                        row.refuse("code", f"a {codes.describe(scanned)} code, not a location's")
            canonical.append(code)
        wanted = {c for c in canonical if c} | {
            r.cells.get("parent", "").strip().upper() for r in self.rows
        }
        for chunk in _chunks(c for c in wanted if c):
            by_code.update(
                (loc.code, loc)
                for loc in db.session.scalars(select(Location).where(Location.code.in_(chunk)))
            )
        in_file: dict[str, Row] = {}  # code, or "parent/name", -> row
        for row, code in zip(self.rows, canonical, strict=True):
            name = self.text(row, "name", 120, required=True)
            kind = row.cells.get("kind", "").strip().lower()
            if not kind:
                row.refuse("kind", "required")
            elif kind not in LOCATION_KINDS:
                row.refuse("kind", f"one of: {', '.join(LOCATION_KINDS)}")
            parent_text = row.cells.get("parent", "").strip()
            parent_loc: Location | None = None
            parent_row: Row | None = None
            if parent_text:
                parent_loc = by_code.get(parent_text.upper())
                parent_row = in_file.get(parent_text.upper()) or in_file.get(
                    f"/{parent_text.casefold()}"
                )
                if parent_loc is None and parent_row is None:
                    found = self._by_name(parent_text)
                    if found is None:
                        row.refuse(
                            "parent", "no location with this code, nor one earlier in the file"
                        )
                    parent_loc = found
                elif parent_row is not None and parent_row.refused:
                    row.refuse("parent", f"its parent (row {parent_row.number}) is refused")
            parent_site = (
                parent_loc.site_id
                if parent_loc is not None
                else (parent_row.values.get("site_id") if parent_row is not None else None)
            )
            site = self.site(row, "site", None)
            given_site = row.cells.get("site", "").strip()
            if (
                parent_site is not None
                and site is not None
                and given_site
                and site.id != parent_site
            ):
                row.refuse("site", "a location is at its parent's site")
            site_id = parent_site if parent_site is not None else (site.id if site else None)
            parent_key = (
                parent_loc.code
                if parent_loc is not None
                else (parent_row.key if parent_row is not None else "")
            )
            row.key = code or f"{parent_key}/{(name or '').casefold()}"
            row.values = {
                "code": code,
                "name": name,
                "kind": kind,
                "parent_id": parent_loc.id
                if parent_loc is not None
                else (parent_row.record_id if parent_row is not None else None),
                "parent_row": parent_row.number if parent_row is not None else None,
                "site_id": site_id,
            }
            if row.key in in_file:
                column = "code" if code else "name"
                row.refuse(column, f"row {in_file[row.key].number} gives the same location")
                continue
            in_file[row.key] = row
            if not code and name:
                in_file.setdefault(f"/{name.casefold()}", row)
            self._match(row, by_code)
        return self.rows

    def _by_name(self, name: str) -> Location | None:
        found = list(
            db.session.scalars(select(Location).where(Location.name == name.strip()).limit(2))
        )
        return found[0] if len(found) == 1 else None

    def _match(self, row: Row, by_code: dict[str, Location]) -> None:
        if row.refused:
            return
        v = row.values
        found = by_code.get(v["code"]) if v["code"] else None
        new_parent = v["parent_row"] is not None and v["parent_id"] is None
        if found is None and not v["code"] and not new_parent:
            found = db.session.scalar(
                select(Location).where(
                    Location.name == v["name"],
                    Location.parent_id.is_(None)
                    if v["parent_id"] is None
                    else Location.parent_id == v["parent_id"],
                )
            )
        if found is None:
            return
        row.record_id = found.id
        if found.kind != v["kind"]:
            row.refuse("kind", f"{found.code} is a {found.kind} on record")
            return
        if found.parent_id != v["parent_id"] and row.cells.get("parent", "").strip():
            row.refuse("parent", f"{found.code} is elsewhere on record: move it in the app")
            return
        row.changes = {"name": v["name"]} if found.name != v["name"] else {}
        row.status = UPDATED if row.changes else UNCHANGED

    def write(self, rows: list[Row], provenance: dict[str, Any], progress: Progress) -> None:
        facility = current_app.config["FACILITY_CODE"]
        new = [r for r in rows if r.status == CREATED and not r.values["code"]]
        number = sequences.take_block(f"L{facility}", 0, len(new)) if new else 0
        for row in rows:
            if row.status == CREATED and row.values["code"]:
                code = row.values["code"]
                if code[1:6] == facility:
                    sequences.at_least(f"L{facility}", 0, int(code[6:12]))
        made: dict[int, Location] = {}
        for row in rows:
            v = row.values
            if row.status == UPDATED:
                db.session.execute(
                    update(Location).where(Location.id == row.record_id).values(**row.changes)
                )
            elif row.status == CREATED:
                code = v["code"]
                if not code:
                    code = codes.make_location_code(facility, number)
                    number += 1
                parent = made.get(v["parent_row"]) if v["parent_row"] else None
                parent_id = parent.id if parent is not None else v["parent_id"]
                location = Location(
                    code=code,
                    name=v["name"],
                    kind=v["kind"],
                    parent_id=parent_id,
                    site_id=(parent.site_id if parent is not None else None)
                    or v["site_id"]
                    or (self.first_site.id if self.first_site else None),
                )
                db.session.add(location)
                db.session.flush()
                made[row.number] = location
                row.record_id = location.id
                v["code"] = code
            else:
                existing = db.session.get(Location, row.record_id) if row.record_id else None
                if existing is not None:
                    made[row.number] = existing
                continue
            progress.add(1)
        self.record(
            rows,
            provenance,
            lambda row: {
                "location_id": row.record_id,
                "code": row.values["code"],
                "name": row.values["name"],
                "location_kind": row.values["kind"],
            },
        )


# ---------------------------------------------------------------------------- users


class UserPlanner(Planner):
    kind = "users"

    def plan(self) -> list[Row]:
        roles = {r.value for r in PEOPLE}
        for row in self.rows:
            username = (row.cells.get("username") or "").strip().lower()
            if not username:
                row.refuse("username", "required")
            elif not USERNAME.match(username) or username == accounts.SYSTEM_USERNAME:
                row.refuse("username", "2-64 characters: lower-case letters, digits, . _ -")
            row.key = username
            name = self.text(row, "full_name", accounts.MAX_NAME, required=True)
            role = (row.cells.get("role") or "").strip().lower()
            if not role:
                row.refuse("role", "required")
            elif role not in roles:
                row.refuse("role", f"one of: {', '.join(sorted(roles))}")
            email = (row.cells.get("email") or "").strip() or None
            if email and (len(email) > accounts.MAX_EMAIL or not EMAIL.match(email)):
                row.refuse("email", "not an e-mail address (name@example.org)")
            chosen: list[Site] = []
            for code in re.split(r"[;,\s]+", (row.cells.get("sites") or "").strip().upper()):
                if not code:
                    continue
                site = self.sites.get(code)
                if site is None:
                    row.refuse("sites", f"no site has facility number {code}")
                elif site not in chosen:
                    chosen.append(site)
            row.values = {"username": username, "full_name": name, "role": role, "email": email}
            row.values["sites"] = sorted(s.code for s in chosen)
        _repeated(self.rows, "username")
        found: dict[str, User] = {}
        for chunk in _chunks(r.key for r in self.rows if r.key):
            found.update(
                (u.username, u)
                for u in db.session.scalars(select(User).where(User.username.in_(chunk)))
            )
        for row in self.rows:
            user = found.get(row.key)
            if row.refused or user is None:
                continue
            row.record_id = user.id
            v = row.values
            if user.role != v["role"]:
                row.refuse(
                    "role",
                    f"{user.username} is {user.role} on record: a role is changed on the "
                    "account's page, with a reason",
                )
            mine = sorted(s.code for s in user.sites)  # type: ignore[attr-defined]
            if v["sites"] and mine != v["sites"]:
                row.refuse(
                    "sites",
                    f"{user.username} belongs to {', '.join(mine) or 'no site'}: sites are "
                    "changed on the account's page",
                )
            if row.refused:
                continue
            if v["full_name"] and user.full_name != v["full_name"]:
                row.changes["full_name"] = v["full_name"]
            if v["email"] and user.email != v["email"]:
                row.changes["email"] = v["email"]
            row.status = UPDATED if row.changes else UNCHANGED
        return self.rows

    def write(self, rows: list[Row], provenance: dict[str, Any], progress: Progress) -> None:
        for row in rows:
            v = row.values
            if row.status == UPDATED:
                db.session.execute(
                    update(User).where(User.id == row.record_id).values(**row.changes)
                )
            elif row.status == CREATED:
                user = User(
                    username=v["username"],
                    full_name=v["full_name"],
                    role=v["role"],
                    email=v["email"],
                    password_hash=UNUSABLE_PASSWORD,
                    must_change_password=True,
                )
                if v["sites"]:
                    user.sites = [self.sites[c] for c in v["sites"]]  # type: ignore[attr-defined]
                db.session.add(user)
                db.session.flush()
                row.record_id = user.id
            else:
                continue
            progress.add(1)
        self.record(
            rows,
            provenance,
            lambda row: {
                "user_id": row.record_id,
                "username": row.key,
                "to_role": row.values["role"],
            },
        )


PLANNERS: dict[str, type[Planner]] = {
    p.kind: p for p in (PatientPlanner, UnitPlanner, LocationPlanner, UserPlanner)
}


# ---------------------------------------------------------------------------- confirming


@dataclass(frozen=True)
class Confirmed:
    imp: DataImport
    job_id: int


def _to_write(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows if row["status"] in (CREATED, UPDATED))


def confirm(import_id: object, actor: User) -> Confirmed:
    """Start the job that imports a dry run without refused rows (once per import)."""
    imp = get_import(import_id, actor)
    rows = imp.rows
    refused = sum(1 for row in rows if row["status"] == REFUSED)
    if refused:
        raise Conflict(
            f"{refused} row{'' if refused == 1 else 's'} refused: fix the cells marked and upload "
            "the file again (an import is all or nothing)",
            code="rows_refused",
        )
    with transaction():
        claimed = db.session.execute(
            update(DataImport)
            .where(DataImport.id == imp.id, DataImport.status == PREVIEWED)
            .values(status=IMPORTING, confirmed_by_id=actor.id, confirmed_at=utcnow())
        ).rowcount
        if not claimed:
            raise Conflict(
                f"import {imp.id} was confirmed already; a file is imported once",
                code="already_confirmed",
            )
        job = Job(
            kind=JOB_KIND,
            status="queued",
            progress=0,
            total=_to_write(rows),
            started_by_id=actor.id,
            created_at=utcnow(),
        )
        db.session.add(job)
        db.session.flush()
        job_id = job.id
        db.session.execute(update(DataImport).where(DataImport.id == imp.id).values(job_id=job_id))
    _dispatch(job_id)
    db.session.expire_all()
    return Confirmed(get_import(imp.id, actor), job_id)


class Progress:
    """Rows written so far, told to the job's row about every 1 % (PostgreSQL: a short
    transaction of its own on another connection). On SQLite the import's transaction holds
    the one write lock, so the bar moves only at the end."""

    def __init__(self, job_id: int | None = None, total: int = 0) -> None:
        self.done = 0
        self.writer = None
        if job_id is not None and db.engine.dialect.name != "sqlite":
            self.writer = jobs.ProgressWriter(job_id, total)

    def add(self, count: int) -> None:
        self.done += count
        if self.writer is not None:
            self.writer(self.done)


def write_import(import_id: int, progress: Progress | None = None) -> int:
    """Judge the claimed import's rows again and write them all, or nothing: a row refused
    now fails the import with the reason. Returns the rows written."""
    progress = progress or Progress()
    imp = db.session.get(DataImport, import_id)
    assert imp is not None and imp.status == IMPORTING
    actor = db.session.get(User, imp.confirmed_by_id)
    assert actor is not None
    kind, table = read_upload(Upload(imp.content, imp.filename, imp.kind))
    provenance = {
        "import": imp.id,
        "sha256": imp.sha256,
        "file": imp.filename,
        "kind": kind.key,
    }
    with transaction():
        lock("lims.data_import")
        planner = PLANNERS[kind.key](table, actor, utcnow())
        rows = planner.plan()
        refused = [r for r in rows if r.refused]
        if refused:
            first = refused[0]
            column, why = next(iter(first.problems.items()))
            raise Conflict(
                f"{len(refused)} row{'' if len(refused) == 1 else 's'} refused now (row "
                f"{first.number}, {column}: {why}); "
                "the records changed since the dry run",
                code="rows_refused",
            )
        planner.write(rows, provenance, progress)
        written = sum(1 for r in rows if r.status in (CREATED, UPDATED))
        db.session.execute(
            update(DataImport)
            .where(DataImport.id == import_id)
            .values(
                status=IMPORTED,
                imported_count=written,
                preview=_dump([r.shown() for r in rows]),
            )
        )
    return written


def _fail(import_id: int, error: str) -> None:
    db.session.rollback()
    with transaction():
        db.session.execute(
            update(DataImport)
            .where(DataImport.id == import_id)
            .values(status=FAILED, error=error[:1000], imported_count=0)
        )


def _dispatch(job_id: int) -> None:
    """To a Celery worker (``lims.data_import_job``) when a broker is configured; else, or
    when it cannot take the job, a thread of this process."""
    jobs.dispatch_job("lims.data_import_job", job_id, run_job, f"lims-job-import-{job_id}")


def run_job(job_id: int) -> str:
    """Claim a queued import job and write its import, all or nothing. Returns the job's final
    status, or ``"skipped"`` when it was not queued (a message delivered twice)."""
    total = jobs.claim(job_id, JOB_KIND)
    if total is None:
        return "skipped"
    import_id = db.session.scalar(select(DataImport.id).where(DataImport.job_id == job_id))
    db.session.rollback()
    progress = Progress(job_id, total)
    try:
        if import_id is None:
            raise LookupError(f"no import has job {job_id}")
        written = write_import(import_id, progress)
    except ServiceError as exc:
        _fail(import_id, exc.message)  # type: ignore[arg-type]
        jobs.finish(job_id, "failed", progress=0, error=exc.message)
        return "failed"
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        if import_id is not None:
            _fail(import_id, f"the import stopped ({jobs.describe(exc)}); nothing was written")
        jobs.finish(job_id, "failed", progress=0, error=jobs.describe(exc))
        return "failed"
    jobs.finish(job_id, "done", progress=written, total=written)
    return "done"


# ---------------------------------------------------------------------------- one go


def import_file(data: Upload, actor: User, *, dry_run: bool = False) -> DataImport:
    """The dry run and, unless ``dry_run`` or a row is refused, the import, here (the command
    line). Returns the import: refused rows are in its rows."""
    imp = upload(data, actor)
    if dry_run or refused_rows(imp):
        return imp
    with transaction():
        db.session.execute(
            update(DataImport)
            .where(DataImport.id == imp.id, DataImport.status == PREVIEWED)
            .values(status=IMPORTING, confirmed_by_id=actor.id, confirmed_at=utcnow())
        )
    try:
        write_import(imp.id)
    except ServiceError as exc:
        _fail(imp.id, exc.message)
    db.session.expire_all()
    return get_import(imp.id, actor)


def importer(username: str) -> User:
    """The active administrator a command-line import runs as."""
    user = db.session.scalar(select(User).where(User.username == str(username).strip()))
    if user is None or not user.active:
        raise NotFound(f"no active user {str(username)[:40]!r}", code="unknown_user")
    _require_admin(user)
    return user
