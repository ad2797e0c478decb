"""Printing labels to the bench's own printer, and confirming each by scanning it back.

The register (admin): printers, each a ZPL printer on raw TCP or a CUPS queue that takes
PDF, with the stock loaded in it; and print rules, which choose a printer from the station
(its workstation name, or its client address or network) and the label template. The most
specific matching rule wins: a workstation name outranks a network, a network a rule for
any station; a rule for the template outranks one for any label; between equals, the
narrower network, then the older rule.

A print is a job (decision 100): rendered for the printer's stock, dpi and format, stored
with the exact bytes and the barcode data the label carries, and recorded in the ledger
as today's ``print_label``/``reprint_label`` naming the job; then sent by a Celery task (a
thread of this process without Redis; inline in the tests). A printer that is off, paused
or out of paper fails the job with the printer's words, and the station offers a retry of
the same bytes: nothing is lost silently.

Scan-back: the technician scans the new label. Its data must equal what was printed (the
DIN barcode, or a bag label's Data Matrix): ``label_confirmed``. Anything else is a
``label_mismatch``, loud on the screen and in the ledger; that label must be destroyed
(``label_destroyed``) before the template is printed again for the same subject, and the
new print is a reprint with its reason.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import func, select, update

from ... import dispatch
from ...db import lock, transaction
from ...domain import codes
from ...domain.errors import Conflict, Forbidden, Invalid, NotFound, from_validation_error
from ...domain.identifiers import MAX_ID
from ...domain.roles import Role
from ...extensions import db
from ...models import Location, Printer, PrintJob, PrintRule, Site, Unit, User
from ...models.types import utcnow
from ...printers import PrinterError, cups, zpl
from .. import access
from ..custody import ledger
from . import labels

ADMIN_ROLES = frozenset({Role.ADMIN})
READ_ROLES = frozenset({Role.ADMIN, Role.QA, Role.TECHNICIAN})
NO_MOVEMENT = ledger.Movement(None, None, None, None, None, None)
STALE_AFTER = timedelta(minutes=2)  # a job queued or sending this long may be sent again
TEMPLATES = ("source_tube", "product_bag", "wristband", "location")
_WORKSTATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,59}$")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


@dataclass(frozen=True)
class Station:
    """Where a print is asked from: the workstation's name (if it has one) and its address."""

    workstation: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, workstation: object, address: object) -> Station:
        name = workstation.strip() if isinstance(workstation, str) else None
        if name and not _WORKSTATION.match(name):
            raise Invalid(
                "a workstation name is 1–60 letters, digits, spaces, dots, dashes or underscores",
                code="bad_workstation",
                fields={"workstation": "letters, digits, space . _ - only"},
            )
        return cls(name or None, address if isinstance(address, str) and address else None)


def _check(user: User, roles: frozenset[Role], what: str) -> None:
    if user.role not in {r.value for r in roles}:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"{what} is for {allowed}; you are {user.role}")


def _validated(model: type[BaseModel], data: Mapping[str, Any] | None) -> Any:
    cleaned = {k: v for k, v in (data or {}).items() if v not in (None, "")}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return _id(int(value))
    return None


# ---------------------------------------------------------------------------- the register


class PrinterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    kind: Literal["zpl_tcp", "cups_pdf"]
    host: str | None = Field(None, max_length=255, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")
    port: int = Field(9100, ge=1, le=65535)
    queue: str | None = Field(None, max_length=120, pattern=r"^[A-Za-z0-9_.\-]+$")
    dpi: Literal[203, 300] = 203
    stock: Literal["tube", "bag"]
    place: str | None = Field(None, max_length=120)
    active: bool = True
    site_id: int | None = Field(
        None, gt=0, le=2_147_483_647, description="the site it stands at; default: the first"
    )

    def checked(self) -> PrinterIn:
        if self.kind == "zpl_tcp" and not self.host:
            raise Invalid(
                "a ZPL printer needs its network address",
                code="host_required",
                fields={"host": "required for a ZPL printer"},
            )
        if self.kind == "cups_pdf" and not self.queue:
            raise Invalid(
                "a PDF printer needs its CUPS queue's name",
                code="queue_required",
                fields={"queue": "required for a CUPS printer"},
            )
        return self


def _printer_fields(printer: Printer) -> dict[str, Any]:
    return {
        "printer_id": printer.id,
        "printer": printer.name,
        "kind": printer.kind,
        "address": printer.address,
        "dpi": printer.dpi,
        "stock": printer.stock,
        "place": printer.place,
        "active": printer.active,
        "site_id": printer.site_id,
    }


def printers(actor: User) -> list[Printer]:
    _check(actor, READ_ROLES, "the printer register")
    stmt = select(Printer).order_by(Printer.name)
    scope = None if actor.role == Role.ADMIN.value else access.site_scope(actor)
    if scope is not None:  # the printers of the reader's sites; admin: all (decision 103)
        stmt = stmt.where(Printer.site_id.in_(scope))
    return list(db.session.scalars(stmt))


def active_printers() -> list[Printer]:
    return list(db.session.scalars(select(Printer).where(Printer.active).order_by(Printer.name)))


def get_printer(printer_id: object) -> Printer:
    ident = _id(printer_id)
    found = db.session.get(Printer, ident) if ident else None
    if found is None:
        raise NotFound(f"no printer with id {str(printer_id)[:40]!r}")
    return found


def register_printer(data: Mapping[str, Any] | None, actor: User) -> Printer:
    """A new printer (admin): ``printer_registered``."""
    _check(actor, ADMIN_ROLES, "registering a printer")
    given = _validated(PrinterIn, data).checked()
    with transaction():
        lock("lims.printers")
        if db.session.scalar(select(Printer.id).where(Printer.name == given.name)):
            raise Conflict(f"a printer is already called {given.name!r}", code="duplicate_printer")
        printer = Printer(**_columns(given), created_by_id=actor.id)
        db.session.add(printer)
        db.session.flush()
        _append("printer_registered", actor, _printer_fields(printer))
    return printer


def update_printer(printer_id: object, data: Mapping[str, Any] | None, actor: User) -> Printer:
    """Change a printer's details or take it out of use (admin): ``printer_updated``."""
    _check(actor, ADMIN_ROLES, "editing a printer")
    given = _validated(PrinterIn, data).checked()
    with transaction():
        lock("lims.printers")
        printer = get_printer(printer_id)
        taken = db.session.scalar(
            select(Printer.id).where(Printer.name == given.name, Printer.id != printer.id)
        )
        if taken:
            raise Conflict(f"a printer is already called {given.name!r}", code="duplicate_printer")
        before = _printer_fields(printer)
        if given.site_id is None:  # left out: it stays where it stands
            given = given.model_copy(update={"site_id": printer.site_id})
        for key, value in _columns(given).items():
            setattr(printer, key, value)
        db.session.flush()
        after = _printer_fields(printer)
        changed = {k: after[k] for k in after if after[k] != before[k]}
        if not changed:
            raise Conflict("nothing was changed", code="no_change")
        _append(
            "printer_updated", actor, {"printer_id": printer.id, "printer": printer.name, **changed}
        )
    return printer


def _columns(given: PrinterIn) -> dict[str, Any]:
    zpl_kind = given.kind == "zpl_tcp"
    return {
        "name": given.name,
        "kind": given.kind,
        "host": given.host if zpl_kind else None,
        "port": given.port if zpl_kind else None,
        "queue": None if zpl_kind else given.queue,
        "dpi": given.dpi,
        "stock": given.stock,
        "place": given.place,
        "active": given.active,
        "site_id": _site(given.site_id),
    }


def _site(site_id: int | None) -> int:
    """The printer's site: the one named (it must exist), else the installation's first."""
    if site_id is None:
        return db.session.scalar(select(func.min(Site.id)))
    if db.session.get(Site, site_id) is None:
        raise Invalid(
            f"no site with id {site_id}", code="unknown_site", fields={"site_id": "no such site"}
        )
    return site_id


def _append(action: str, actor: User, data: dict[str, Any], unit: Unit | None = None) -> None:
    ledger.append(
        unit=unit,
        action=action,
        actor=actor,
        movement=ledger.standing(unit) if unit else NO_MOVEMENT,
        data=data,
    )


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    printer_id: int = Field(ge=1, le=MAX_ID)
    template: Literal["source_tube", "product_bag", "wristband", "location"] | None = None
    workstation: str | None = Field(None, max_length=60)
    network: str | None = Field(None, max_length=64)


def rules(actor: User) -> list[PrintRule]:
    _check(actor, READ_ROLES, "the print rules")
    return list(db.session.scalars(select(PrintRule).order_by(PrintRule.id)))


def add_rule(data: Mapping[str, Any] | None, actor: User) -> PrintRule:
    """A rule (admin): ``print_rule_added``."""
    _check(actor, ADMIN_ROLES, "adding a print rule")
    given = _validated(RuleIn, data)
    if given.workstation:
        Station.of(given.workstation, None)
    network = None
    if given.network:
        try:
            network = str(ipaddress.ip_network(given.network, strict=False))
        except ValueError:
            raise Invalid(
                f"{given.network!r} is not an address or network (e.g. 10.1.2.0/24)",
                code="bad_network",
                fields={"network": "an address or a network such as 10.1.2.0/24"},
            ) from None
    with transaction():
        printer = get_printer(given.printer_id)
        rule = PrintRule(
            printer_id=printer.id,
            template=given.template,
            workstation=given.workstation,
            network=network,
            created_by_id=actor.id,
        )
        db.session.add(rule)
        db.session.flush()
        _append("print_rule_added", actor, {**_rule_fields(rule), "printer": printer.name})
    return rule


def remove_rule(rule_id: object, actor: User) -> None:
    """Remove a rule (admin): ``print_rule_removed``, naming what it said."""
    _check(actor, ADMIN_ROLES, "removing a print rule")
    with transaction():
        ident = _id(rule_id)
        rule = db.session.get(PrintRule, ident) if ident else None
        if rule is None:
            raise NotFound(f"no print rule with id {str(rule_id)[:40]!r}")
        fields = {**_rule_fields(rule), "printer": rule.printer.name}
        db.session.delete(rule)
        _append("print_rule_removed", actor, fields)


def _rule_fields(rule: PrintRule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "printer_id": rule.printer_id,
        "template": rule.template,
        "workstation": rule.workstation,
        "network": rule.network,
    }


def _in_network(address: str | None, network: str) -> int | None:
    """The network's prefix length when ``address`` lies in it, else None."""
    if not address:
        return None
    try:
        net, ip = ipaddress.ip_network(network, strict=False), ipaddress.ip_address(address)
    except ValueError:
        return None
    return net.prefixlen if ip.version == net.version and ip in net else None


def choose(template: str, station: Station) -> tuple[Printer, PrintRule] | None:
    """The printer the most specific matching rule names (active printers only)."""
    best: tuple[tuple[int, int, int], PrintRule] | None = None
    for rule in db.session.scalars(
        select(PrintRule).join(Printer).where(Printer.active).order_by(PrintRule.id)
    ):
        if rule.template and rule.template != template:
            continue
        if rule.workstation and (
            not station.workstation or rule.workstation.casefold() != station.workstation.casefold()
        ):
            continue
        prefix = 0
        if rule.network:
            found = _in_network(station.address, rule.network)
            if found is None:
                continue
            prefix = found
        score = (2 if rule.workstation else 1 if rule.network else 0, bool(rule.template), prefix)
        if best is None or score > best[0]:
            best = (score, rule)
    return (best[1].printer, best[1]) if best else None


# ---------------------------------------------------------------------------- print


class PrintIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    printer_id: int | None = Field(None, ge=1, le=MAX_ID, description="default: the print rules")
    copies: int = Field(1, ge=1, le=100)
    reason: str | None = Field(None, max_length=500, description="required for a reprint")
    workstation: str | None = Field(None, max_length=60)


@dataclass(frozen=True)
class Subject:
    """What a label is for: its label, the roles that print it, and what it is about."""

    label: Any
    unit: Unit | None
    about: dict[str, int]
    name: str  # in words, for the station
    barcode: str  # the data the scan-back must read
    also: tuple[str, ...] = ()  # other codes on the label that confirm it (a Data Matrix)


def unit_subject(actor: User, unit_id: object) -> Subject:
    labels._check_role(actor, labels.UNIT_ROLES, "unit")
    unit = access.require_unit(actor, unit_id)
    labels._refuse_final(unit)
    label = labels.unit_label(unit)
    also = (label.datamatrix,) if label.datamatrix else ()
    return Subject(label, unit, {}, unit.label, unit.barcode_data, also)


def patient_subject(actor: User, patient_id: object) -> Subject:
    labels._check_role(actor, labels.WRISTBAND_ROLES, "wristband")
    patient = access.require_patient(actor, patient_id)
    return Subject(
        labels.wristband(patient),
        None,
        {"patient_id": patient.id},
        f"wristband of {patient.name}",
        patient.wristband,
    )


def location_subject(actor: User, location_id: object) -> Subject:
    labels._check_role(actor, labels.LOCATION_ROLES, "location")
    ident = _id(location_id)
    location = db.session.get(Location, ident) if ident else None
    if location is None:
        raise NotFound(f"no location with id {str(location_id)[:40]!r}")
    return Subject(
        labels.location_label(location),
        None,
        {"location_id": location.id},
        location.path,
        location.code,
    )


def print_label(
    subject: Subject, data: Mapping[str, Any] | None, actor: User, station: Station
) -> PrintJob:
    """Queue a print job for the subject's label on the chosen printer and send it."""
    given = _validated(PrintIn, data)
    if given.workstation:
        station = Station.of(given.workstation, station.address)
    template = subject.label.kind
    if given.printer_id is not None:
        printer = get_printer(given.printer_id)
        if not printer.active:
            raise Conflict(f"printer {printer.name} is out of use", code="printer_inactive")
    else:
        chosen = choose(template, station)
        if chosen is None:
            where = station.workstation or station.address or "this station"
            raise Conflict(
                f"no print rule names a printer for {template.replace('_', ' ')} labels at "
                f"{where}: choose a printer, or ask an administrator to add a rule",
                code="no_printer",
            )
        printer = chosen[0]
    _refuse_unresolved_mismatch(subject, template)  # early, before rendering; again under the lock
    options = labels.options_from(_render_options(printer, given.copies, given.reason))
    content, _ = labels._render(subject.label, options, subject.name)
    draft = _Draft(subject, printer, options, content, actor, station)
    labels._record(subject.unit, subject.label, options, actor, subject.about, job=draft)
    job = draft.job
    assert job is not None
    _dispatch(job.id)
    db.session.refresh(job)
    return job


def _render_options(printer: Printer, copies: int, reason: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "format": "zpl" if printer.kind == "zpl_tcp" else "pdf",
        "stock": printer.stock,
        "copies": copies,
        "dpi": printer.dpi,
        "reason": reason,
    }
    if "page" in labels.LabelOptions.model_fields:
        options["page"] = "label"  # a label printer's driver takes one label per page
    return options


class _Draft:
    """The job, made inside the print's transaction so the ledger entry can name it."""

    def __init__(self, subject, printer, options, content, actor, station) -> None:
        self.subject, self.printer, self.options = subject, printer, options
        self.content, self.actor, self.station = content, actor, station
        self.job: PrintJob | None = None

    def add(self, action: str) -> dict[str, Any]:
        s = self.subject
        _refuse_unresolved_mismatch(s, s.label.kind)  # a mismatch recorded meanwhile
        job = PrintJob(
            printer_id=self.printer.id,
            template=s.label.kind,
            stock=self.printer.stock,
            format=self.options.format,
            copies=self.options.copies,
            unit_id=s.unit.id if s.unit else None,
            patient_id=s.about.get("patient_id"),
            location_id=s.about.get("location_id"),
            subject=s.name[:80],
            barcode_data=s.barcode,
            content=self.content,
            action=action,
            reason=self.options.reason,
            status="queued",
            attempts=0,
            workstation=self.station.workstation,
            client_address=self.station.address,
            requested_by_id=self.actor.id,
        )
        db.session.add(job)
        db.session.flush()
        self.job = job
        return {"job": job.id, "printer": self.printer.name}


def _same_subject(template: str, unit_id, patient_id, location_id):
    return (
        PrintJob.template == template,
        PrintJob.unit_id.is_(None) if unit_id is None else PrintJob.unit_id == unit_id,
        PrintJob.patient_id.is_(None) if patient_id is None else PrintJob.patient_id == patient_id,
        PrintJob.location_id.is_(None)
        if location_id is None
        else PrintJob.location_id == location_id,
    )


def _refuse_unresolved_mismatch(subject: Subject, template: str) -> None:
    where = _same_subject(
        template,
        subject.unit.id if subject.unit else None,
        subject.about.get("patient_id"),
        subject.about.get("location_id"),
    )
    wrong = db.session.scalar(
        select(PrintJob.id).where(*where, PrintJob.status == "mismatch").limit(1)
    )
    if wrong:
        raise Conflict(
            f"the label of print job {wrong} did not scan back as {subject.name}: record that "
            "it was destroyed before printing this label again",
            code="mismatch_unresolved",
        )


# ---------------------------------------------------------------------------- send


def _dispatch(job_id: int) -> None:
    app = current_app._get_current_object()
    if not app.config.get("PRINT_IN_BACKGROUND", True):

        def here() -> str:
            return send_job(job_id)

    else:

        def here() -> None:
            threading.Thread(
                target=_send_in_thread, args=(app, job_id), name=f"lims-print-{job_id}", daemon=True
            ).start()

    dispatch.enqueue("lims.send_print_job", job_id, here=here, here_if_unreachable=True)


def _send_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            send_job(job_id)
        finally:
            db.session.remove()


def send_job(job_id: int) -> str:
    """Claim a queued job, send its bytes, record ``sent`` or ``failed`` with the printer's
    words. A job not queued (sent already, or another worker has it) is left: ``skipped``."""
    with transaction():
        claimed = db.session.execute(
            update(PrintJob)
            .where(PrintJob.id == job_id, PrintJob.status == "queued")
            .values(status="sending", attempts=PrintJob.attempts + 1)
        ).rowcount
    if not claimed:
        return "skipped"
    job = db.session.get(PrintJob, job_id)
    printer = job.printer
    timeout = float(current_app.config.get("PRINTER_TIMEOUT_SECONDS", 5))
    tcp = printer.kind == "zpl_tcp"
    if tcp:
        send = partial(
            zpl.send, printer.host, printer.port, job.content, timeout=timeout, name=printer.name
        )
    else:
        send = partial(
            cups.send_pdf,
            printer.queue,
            job.content,
            copies=1,  # the PDF holds a page per copy
            timeout=max(timeout, 10),
            lp=current_app.config.get("CUPS_LP_COMMAND") or "lp",
            title=f"{job.subject} {job.template}",
        )
    name = printer.name
    # The read ends before the printer is called: on SQLite its transaction holds the write
    # lock (BEGIN IMMEDIATE), on PostgreSQL a connection would sit idle in a transaction.
    db.session.commit()
    error = None
    try:
        send()
    except PrinterError as exc:
        error = exc.message if tcp else f"{name}: {exc.message}"
    with transaction():
        job = db.session.get(PrintJob, job_id)
        job.status = "failed" if error else "sent"
        job.error = error
        if not error:
            job.sent_at = utcnow()
    return job.status


def retry(job_id: object, actor: User) -> PrintJob:
    """Send a failed job's same bytes again (or one stuck queued): no new ledger entry, the
    print was recorded when it was asked for."""
    job = get_job(job_id, actor)
    stuck = job.status in ("queued", "sending") and job.created_at < utcnow() - STALE_AFTER
    if job.status != "failed" and not stuck:
        raise Conflict(
            f"print job {job.id} is {job.status}: only a failed job is sent again",
            code="not_failed",
        )
    with transaction():
        db.session.execute(
            update(PrintJob)
            .where(PrintJob.id == job.id, PrintJob.status == job.status)
            .values(status="queued", error=None)
        )
    _dispatch(job.id)
    db.session.refresh(job)
    return job


# ---------------------------------------------------------------------------- scan-back


def get_job(job_id: object, actor: User) -> PrintJob:
    """The job, if this user may see what it printed."""
    ident = _id(job_id)
    job = db.session.get(PrintJob, ident) if ident else None
    if job is None:
        raise NotFound(f"no print job with id {str(job_id)[:40]!r}")
    try:
        if job.unit_id:
            access.require_unit(actor, job.unit_id)
        elif job.patient_id:
            access.require_patient(actor, job.patient_id)
        elif actor.role == Role.CLINICIAN.value:
            raise NotFound("")
    except NotFound:
        raise NotFound(f"no print job with id {str(job_id)[:40]!r}") from None
    return job


def _unit_of(job: PrintJob) -> Unit | None:
    return db.session.get(Unit, job.unit_id) if job.unit_id else None


def _job_fields(job: PrintJob) -> dict[str, Any]:
    fields: dict[str, Any] = {"job": job.id, "template": job.template, "printer": job.printer.name}
    if job.patient_id:
        fields["patient_id"] = job.patient_id
    if job.location_id:
        fields["location_id"] = job.location_id
    return fields


def confirm(job_id: object, scanned: object, actor: User) -> PrintJob:
    """The scanned label against what the job printed: ``label_confirmed``, or a loud
    ``label_mismatch`` (the answer's status says which; a mismatch is not an error of the
    request: it is recorded)."""
    job = get_job(job_id, actor)
    text = scanned.strip() if isinstance(scanned, str) else ""
    if not text:
        raise Invalid(
            "scan the new label's barcode", code="empty", fields={"scanned": "scan the label"}
        )
    if len(text) > 200:
        raise Invalid(
            "a scanned code is at most 200 characters",
            code="too_long",
            fields={"scanned": "too long"},
        )
    if job.status not in ("sent", "confirmed", "mismatch"):
        raise Conflict(
            f"print job {job.id} is {job.status}: scan a label back once it has been printed",
            code="not_printed",
        )
    if job.status != "sent":
        raise Conflict(
            f"print job {job.id} was checked already ({job.status})", code="checked_already"
        )
    if text.startswith(codes.PRODUCT_PREFIX) and job.template == "product_bag":
        raise Invalid(
            "that is the product code: scan the DIN barcode (the upper one) or the Data Matrix",
            code="product_code_scanned",
            fields={"scanned": "scan the DIN barcode or the Data Matrix"},
        )
    matches = text == job.barcode_data or text in _also(job)
    with transaction():
        lock("lims.labels")
        current = _fresh(job.id)
        if current.status != "sent":
            raise Conflict(
                f"print job {job.id} was checked already ({current.status})", code="checked_already"
            )
        current.status = "confirmed" if matches else "mismatch"
        current.scan_matched = matches
        current.scanned = text
        current.checked_by_id = actor.id
        current.checked_at = utcnow()
        data = _job_fields(current)
        if not matches:
            data |= {"expected": current.barcode_data, "scanned": text}
        _append("label_confirmed" if matches else "label_mismatch", actor, data, _unit_of(current))
    db.session.refresh(job)
    return job


def _fresh(job_id: int) -> PrintJob:
    """The job as committed now (after the caller's lock), not as this session last saw it."""
    return db.session.get(PrintJob, job_id, populate_existing=True, with_for_update=True)


def _also(job: PrintJob) -> tuple[str, ...]:
    if job.template != "product_bag" or not job.unit_id:
        return ()
    unit = db.session.get(Unit, job.unit_id)
    return (codes.unit_datamatrix_data(unit.barcode_data, unit.product_code, unit.division),)


class DestroyLabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500)


def destroy(job_id: object, data: Mapping[str, Any] | None, actor: User) -> PrintJob:
    """The wrong (or damaged) label of a job was destroyed: ``label_destroyed``."""
    given = _validated(DestroyLabelIn, data)
    if labels.CONTROL_CHARACTER.search(given.reason):
        raise Invalid(
            "a reason may not contain a control character",
            code="bad_reason",
            fields={"reason": "plain text"},
        )
    job = get_job(job_id, actor)
    with transaction():
        lock("lims.labels")
        current = _fresh(job.id)
        if current.status not in ("mismatch", "sent", "confirmed"):
            raise Conflict(
                f"print job {job.id} is {current.status}: no label of it is there to destroy",
                code="nothing_to_destroy",
            )
        current.status = "destroyed"
        current.destroyed_by_id = actor.id
        current.destroyed_at = utcnow()
        ledger.append(
            unit=_unit_of(current),
            action="label_destroyed",
            actor=actor,
            movement=ledger.standing(_unit_of(current)) if current.unit_id else NO_MOVEMENT,
            data=_job_fields(current),
            reason=given.reason,
        )
    db.session.refresh(job)
    return job


def recent_jobs(actor: User, station: Station, limit: int = 20) -> list[PrintJob]:
    """The last jobs asked for at this station (its workstation name, else its address)."""
    stmt = select(PrintJob).order_by(PrintJob.id.desc()).limit(limit)
    if station.workstation:
        stmt = stmt.where(PrintJob.workstation == station.workstation)
    elif station.address:
        stmt = stmt.where(PrintJob.client_address == station.address)
    else:
        stmt = stmt.where(PrintJob.requested_by_id == actor.id)
    jobs = []
    for job in db.session.scalars(stmt):
        try:
            jobs.append(get_job(job.id, actor))
        except NotFound:
            continue
    return jobs


# ---------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class ReportRow:
    subject: str
    template: str
    printed: int
    reprinted: int
    confirmed: int
    mismatched: int
    destroyed: int
    failed: int
    unconfirmed: int
    reasons: tuple[str, ...]
    jobs: tuple[int, ...]


@dataclass(frozen=True)
class Report:
    day: date
    zone: str
    rows: list[ReportRow]

    @property
    def totals(self) -> dict[str, int]:
        keys = (
            "printed",
            "reprinted",
            "confirmed",
            "mismatched",
            "destroyed",
            "failed",
            "unconfirmed",
        )
        return {k: sum(getattr(r, k) for r in self.rows) for k in keys}


def label_report(actor: User, day: date | None = None) -> Report:
    """Label reconciliation for one local day (FACT): per subject and template, what was
    printed, reprinted (with the reasons), confirmed by scan, mismatched, destroyed, failed
    to reach the printer, and is still unconfirmed."""
    _check(actor, READ_ROLES, "the label report")
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    day = day or datetime.now(zone).date()
    start = datetime.combine(day, time(), zone)
    jobs = db.session.scalars(
        select(PrintJob)
        .where(PrintJob.created_at >= start, PrintJob.created_at < start + timedelta(days=1))
        .order_by(PrintJob.id)
    )
    grouped: dict[tuple[str, str], list[PrintJob]] = {}
    for job in jobs:
        grouped.setdefault((job.subject, job.template), []).append(job)
    rows = []
    for (subject, template), items in grouped.items():
        statuses = [j.status for j in items]
        rows.append(
            ReportRow(
                subject=subject,
                template=template,
                printed=sum(j.action == labels.PRINT for j in items),
                reprinted=sum(j.action == labels.REPRINT for j in items),
                confirmed=statuses.count("confirmed"),
                mismatched=sum(j.scan_matched is False for j in items),
                destroyed=statuses.count("destroyed"),
                failed=statuses.count("failed"),
                unconfirmed=sum(s in ("sent", "queued", "sending") for s in statuses),
                reasons=tuple(j.reason for j in items if j.reason),
                jobs=tuple(j.id for j in items),
            )
        )
    return Report(day, current_app.config["TIMEZONE"], rows)
