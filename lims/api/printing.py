"""Printers, print rules, print jobs, the scan-back and the label report on the ``api``
blueprint; same service and rules as the station's pages (``services.station.printing``).

A print's station is the body's ``workstation`` (when the client names one) and the
client's address; the print rules choose the printer from them."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from ..domain.roles import Role
from ..models import Printer, PrintJob, PrintRule, User
from ..security import roles_required
from ..services.station import printing
from . import bp
from .body import json_object, parse, query
from .printing_doc import (
    LabelReportOut,
    LabelReportQuery,
    PrinterOut,
    PrintersOut,
    PrintJobOut,
    RemovedOut,
    ReportRowOut,
    RuleOut,
    ScanBackIn,
)
from .respond import json_response
from .schemas import PersonOut

READERS = (Role.ADMIN, Role.QA, Role.TECHNICIAN)
UNIT_PRINTERS = (Role.TECHNICIAN, Role.QA, Role.ADMIN)
WRISTBAND_PRINTERS = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA)
ANYONE = (Role.TECHNICIAN, Role.CLINICIAN, Role.QA, Role.ADMIN)


def _actor() -> User:
    return current_user._get_current_object()


def printer_out(p: Printer) -> PrinterOut:
    return PrinterOut(
        id=p.id,
        name=p.name,
        kind=p.kind,
        host=p.host,
        port=p.port,
        queue=p.queue,
        dpi=p.dpi,
        stock=p.stock,
        place=p.place,
        active=p.active,
        site_id=p.site_id,
    )


def rule_out(r: PrintRule) -> RuleOut:
    return RuleOut(
        id=r.id,
        printer_id=r.printer_id,
        printer=r.printer.name,
        template=r.template,
        workstation=r.workstation,
        network=r.network,
    )


def job_out(j: PrintJob) -> PrintJobOut:
    return PrintJobOut(
        id=j.id,
        status=j.status,
        printer=printer_out(j.printer),
        template=j.template,
        stock=j.stock,
        format=j.format,
        copies=j.copies,
        action=j.action,
        reason=j.reason,
        subject=j.subject,
        unit_id=j.unit_id,
        patient_id=j.patient_id,
        location_id=j.location_id,
        barcode_data=j.barcode_data,
        error=j.error,
        attempts=j.attempts,
        workstation=j.workstation,
        requested_by=PersonOut(id=j.requested_by.id, name=j.requested_by.full_name),
        created_at=j.created_at,
        sent_at=j.sent_at,
        scanned=j.scanned,
        scan_matched=j.scan_matched,
        checked_at=j.checked_at,
        destroyed_at=j.destroyed_at,
    )


@bp.get("/printers")
@roles_required(*READERS)
def list_printers():
    actor = _actor()
    return json_response(
        PrintersOut(
            printers=[printer_out(p) for p in printing.printers(actor)],
            rules=[rule_out(r) for r in printing.rules(actor)],
        )
    )


@bp.post("/printers")
@roles_required(Role.ADMIN)
def register_printer():
    printer = printing.register_printer(json_object(), _actor())
    return json_response(printer_out(printer), 201)


@bp.post("/printers/<id:printer_id>")
@roles_required(Role.ADMIN)
def update_printer(printer_id: int):
    return json_response(printer_out(printing.update_printer(printer_id, json_object(), _actor())))


@bp.post("/print-rules")
@roles_required(Role.ADMIN)
def add_print_rule():
    return json_response(rule_out(printing.add_rule(json_object(), _actor())), 201)


@bp.post("/print-rules/<id:rule_id>/remove")
@roles_required(Role.ADMIN)
def remove_print_rule(rule_id: int):
    printing.remove_rule(rule_id, _actor())
    return json_response(RemovedOut(removed=rule_id))


def _printed(subject: printing.Subject):
    station = printing.Station(None, request.remote_addr)
    job = printing.print_label(subject, json_object(), _actor(), station)
    location = url_for("api.get_print_job", job_id=job.id)
    return json_response(job_out(job), 201, Location=location)


@bp.post("/units/<id:unit_id>/print")
@roles_required(*UNIT_PRINTERS)
def print_unit(unit_id: int):
    return _printed(printing.unit_subject(_actor(), unit_id))


@bp.post("/patients/<id:patient_id>/print")
@roles_required(*WRISTBAND_PRINTERS)
def print_patient(patient_id: int):
    return _printed(printing.patient_subject(_actor(), patient_id))


@bp.post("/locations/<id:location_id>/print")
@roles_required(*UNIT_PRINTERS)
def print_location(location_id: int):
    return _printed(printing.location_subject(_actor(), location_id))


@bp.get("/print-jobs/<id:job_id>")
@roles_required(*ANYONE)
def get_print_job(job_id: int):
    return json_response(job_out(printing.get_job(job_id, _actor())))


@bp.post("/print-jobs/<id:job_id>/retry")
@roles_required(*ANYONE)
def retry_print_job(job_id: int):
    return json_response(job_out(printing.retry(job_id, _actor())))


@bp.post("/print-jobs/<id:job_id>/confirm")
@roles_required(*ANYONE)
def confirm_print_job(job_id: int):
    body = parse(ScanBackIn, json_object())
    return json_response(job_out(printing.confirm(job_id, body.scanned, _actor())))


@bp.post("/print-jobs/<id:job_id>/destroy")
@roles_required(*ANYONE)
def destroy_print_label(job_id: int):
    return json_response(job_out(printing.destroy(job_id, json_object(), _actor())))


@bp.get("/labels/report")
@roles_required(*READERS)
def label_report():
    params = query(LabelReportQuery)
    report = printing.label_report(_actor(), params.day)
    return json_response(
        LabelReportOut(
            day=report.day,
            zone=report.zone,
            rows=[
                ReportRowOut(**{**vars(r), "reasons": list(r.reasons), "jobs": list(r.jobs)})
                for r in report.rows
            ],
            totals=report.totals,
        )
    )
