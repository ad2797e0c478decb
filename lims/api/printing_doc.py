"""The OpenAPI operations and schemas of printers, print rules, print jobs, the scan-back and
the label report; ``openapi`` joins them to the rest. The request bodies are the printing
service's own models."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ..models import JOB_STATUSES, PRINTER_KINDS
from ..services.station.printing import DestroyLabelIn, PrinterIn, PrintIn, RuleIn
from .operation import Operation, Rule
from .schemas import PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
Template = Literal["source_tube", "product_bag", "wristband", "location"]


class PrinterOut(Response):
    id: int
    name: str
    kind: Literal[PRINTER_KINDS]  # type: ignore[valid-type]
    host: str | None
    port: int | None
    queue: str | None
    dpi: int
    stock: str
    place: str | None
    active: bool
    site_id: int | None = Field(description="the site it stands at")


class RuleOut(Response):
    id: int
    printer_id: int
    printer: str
    template: Template | None = Field(description="the label template; null: any label")
    workstation: str | None = Field(description="the workstation's name; null: any")
    network: str | None = Field(description="a client address or network; null: any")


class PrintersOut(Response):
    printers: list[PrinterOut]
    rules: list[RuleOut] = Field(description="the most specific matching rule wins")


class RemovedOut(Response):
    removed: int


class ScanBackIn(Request):
    scanned: str = Field(
        max_length=200, description="what the scanner read from the new label, as it read it"
    )


class LabelReportQuery(Request):
    day: date | None = Field(None, description="the site's local day; default today")


class PrintJobOut(Response):
    id: int
    status: Literal[JOB_STATUSES]  # type: ignore[valid-type]
    printer: PrinterOut
    template: Template
    stock: str
    format: Literal["zpl", "pdf"]
    copies: int
    action: Literal["print_label", "reprint_label"]
    reason: str | None
    subject: str = Field(description="what the label is for, in words")
    unit_id: int | None
    patient_id: int | None
    location_id: int | None
    barcode_data: str = Field(description="what a scan of the new label must read")
    error: str | None = Field(description="the printer's words when it failed")
    attempts: int
    workstation: str | None
    requested_by: PersonOut
    created_at: UtcTime
    sent_at: UtcTime | None
    scanned: str | None
    scan_matched: bool | None = Field(description="null until the label is scanned back")
    checked_at: UtcTime | None
    destroyed_at: UtcTime | None


class ReportRowOut(Response):
    subject: str
    template: Template
    printed: int
    reprinted: int
    confirmed: int
    mismatched: int
    destroyed: int
    failed: int
    unconfirmed: int
    reasons: list[str] = Field(description="the reprints' reasons")
    jobs: list[int]


class LabelReportOut(Response):
    day: date
    zone: str
    rows: list[ReportRowOut]
    totals: dict[str, int]


PRINTER_RULES = (
    Rule("host", ("host_required",), "required for a zpl_tcp printer"),
    Rule("queue", ("queue_required",), "required for a cups_pdf printer"),
    Rule("site_id", ("unknown_site",), "a registered site"),
)
PRINT_RULES = (
    Rule("workstation", ("bad_workstation",), "letters, digits, space . _ - only"),
    Rule(
        "printer_id",
        ("no_printer", "printer_inactive"),
        "without a printer_id a print rule must name a printer for this station and label "
        "(409 no_printer); a printer out of use is 409 printer_inactive",
    ),
    Rule("reason", ("reason_required",), "required when the label was printed before"),
    Rule(
        None, ("mismatch_unresolved",), "a label that scanned back wrong is destroyed first (409)"
    ),
)
JOB_LINKS = {
    name: {"job_id": "$response.body#/id"}
    for name in ("get_print_job", "confirm_print_job", "retry_print_job", "destroy_print_label")
}


def _print(path: str, endpoint: str, what: str) -> Operation:
    return Operation(
        "post",
        path,
        endpoint,
        f"Print {what} on the bench's printer (the print rules choose it, or printer_id): a "
        "print job, sent by a worker; recorded as print_label or reprint_label naming the job. "
        "The job's status says sent or failed (with the printer's words) once sent",
        "PrintJobOut",
        201,
        request="PrintIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=PRINT_RULES,
        links=JOB_LINKS,
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/printers",
        "list_printers",
        "The printer register and the print rules",
        "PrintersOut",
        errors=(401, 403),
    ),
    Operation(
        "post",
        "/printers",
        "register_printer",
        "Register a printer: a ZPL printer on raw TCP (host, port) or a CUPS queue taking PDF, "
        "with the stock loaded in it",
        "PrinterOut",
        201,
        request="PrinterIn",
        errors=(*BODY_ERRORS, 401, 403, 409),
        rules=PRINTER_RULES,
    ),
    Operation(
        "post",
        "/printers/{printer_id}",
        "update_printer",
        "Change a printer's details, or take it out of use (active false)",
        "PrinterOut",
        request="PrinterIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=PRINTER_RULES,
    ),
    Operation(
        "post",
        "/print-rules",
        "add_print_rule",
        "Add a print rule: this printer for a workstation, a client network or any station, "
        "for one label template or any",
        "RuleOut",
        201,
        request="RuleIn",
        errors=(*BODY_ERRORS, 401, 403, 404),
        rules=(
            Rule("network", ("bad_network",), "an address or a network such as 10.1.2.0/24"),
            Rule("workstation", ("bad_workstation",), "letters, digits, space . _ - only"),
        ),
    ),
    Operation(
        "post",
        "/print-rules/{rule_id}/remove",
        "remove_print_rule",
        "Remove a print rule",
        "RemovedOut",
        errors=(401, 403, 404),
    ),
    _print("/units/{unit_id}/print", "print_unit", "a unit's label"),
    _print("/patients/{patient_id}/print", "print_patient", "a patient's wristband"),
    _print("/locations/{location_id}/print", "print_location", "a location's label"),
    Operation(
        "get",
        "/print-jobs/{job_id}",
        "get_print_job",
        "One print job: its status, the printer's error, the scan-back",
        "PrintJobOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/print-jobs/{job_id}/retry",
        "retry_print_job",
        "Send a failed job's same label again (no new ledger entry)",
        "PrintJobOut",
        errors=(401, 403, 404, 409),
    ),
    Operation(
        "post",
        "/print-jobs/{job_id}/confirm",
        "confirm_print_job",
        "Scan the new label back: status confirmed when it reads what was printed "
        "(label_confirmed), else mismatch (label_mismatch): that label must be destroyed and "
        "reprinted with a reason",
        "PrintJobOut",
        request="ScanBackIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule(
                "scanned", ("empty", "product_code_scanned"), "the DIN barcode or the Data Matrix"
            ),
        ),
    ),
    Operation(
        "post",
        "/print-jobs/{job_id}/destroy",
        "destroy_print_label",
        "The job's label (wrong or damaged) was destroyed: label_destroyed, with the reason",
        "PrintJobOut",
        request="DestroyLabelIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
    ),
    Operation(
        "get",
        "/labels/report",
        "label_report",
        "Label reconciliation for one day: per unit (or wristband, location) and template, "
        "printed, reprinted with the reasons, confirmed, mismatched, destroyed, failed, "
        "unconfirmed",
        "LabelReportOut",
        query="LabelReportQuery",
        errors=(401, 403, 422),
    ),
)
INPUTS = (PrinterIn, RuleIn, PrintIn, ScanBackIn, DestroyLabelIn, LabelReportQuery)
OUTPUTS = (PrinterOut, RuleOut, PrintersOut, RemovedOut, PrintJobOut, ReportRowOut, LabelReportOut)
