"""The OpenAPI operations and schemas of the validation reports (list, one report as JSON,
HTML or PDF, QA's signed approval); ``openapi`` joins them to the rest."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..services.audit.validation import ApproveFields
from .operation import Operation, Rule
from .schemas import MAX_PER_PAGE, PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)


class ValidationReportListQuery(Request):
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 25


class ValidationReportQuery(Request):
    format: Literal["json", "html", "pdf"] = Field(
        "json",
        description="json: the report's summary and data; html or pdf: the report as "
        "generated, as a file",
    )


class ValidationReportOut(Response):
    id: int
    generated_at: UtcTime
    generated_by: str
    version: str = Field(description="the software version validated (git describe)")
    sha256: str = Field(description="SHA-256 of the report's data (canonical JSON)")
    intact: bool = Field(description="the stored data still hashes to sha256")
    passed: int
    failed: int
    errors: int = Field(description="marked tests that broke outside their own code (setup)")
    skipped: int
    requirements_met: int
    requirements_total: int
    claimed_not_met: int = Field(description="claimed requirements not met in this run")
    pq: str = Field(description="the performance qualification: passed, failed or not run")
    clean: bool = Field(description="no marked test failed and every claimed requirement is met")
    problems: list[str] = Field(description="what keeps the report from being clean, in words")
    recorded_entry_id: int | None = Field(description="the validation_report_recorded entry")
    approved_by: PersonOut | None
    approved_at: UtcTime | None
    approved_entry_id: int | None = Field(description="the ledger entry of QA's signed approval")


class ValidationReportDetailOut(ValidationReportOut):
    data: dict[str, Any] = Field(
        description="the report's data; its canonical JSON hashes to sha256"
    )


class ValidationReportPageOut(Response):
    items: list[ValidationReportOut]
    page: int
    per_page: int
    total: int


SIGN_RULES = (
    Rule("password", ("wrong_password",), "the signer's own password"),
    Rule(
        "justification",
        ("justification_required",),
        "required when the report is not clean (a marked test failed or broke, a claimed "
        "requirement is not met, the performance qualification did not pass)",
    ),
)
NEXT = ("get_validation_report", "approve_validation_report")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/validation-reports",
        "list_validation_reports",
        "Validation reports kept (make validation), newest first, with their counts, digest "
        "and approval",
        "ValidationReportPageOut",
        query="ValidationReportListQuery",
        errors=(401, 403, 422),
        links={n: {"report_id": "$response.body#/items/0/id"} for n in NEXT},
    ),
    Operation(
        "get",
        "/validation-reports/{report_id}",
        "get_validation_report",
        "One validation report: its summary and data (JSON), or the report as generated "
        "(?format=html or pdf, a file)",
        "ValidationReportDetailOut",
        query="ValidationReportQuery",
        errors=(401, 403, 404, 422),
        media=("text/html", "application/pdf"),
    ),
    Operation(
        "post",
        "/validation-reports/{report_id}/approve",
        "approve_validation_report",
        "QA's signed approval (the password again, meaning approved; a justification when "
        "the report is not clean), bound to the report's digest and counts. Refused (409) "
        "when approved already or when the stored data no longer matches its digest; a "
        "wrong password draws on the signer's signing budget",
        "ValidationReportOut",
        request="ApproveFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=SIGN_RULES,
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (
    ValidationReportListQuery,
    ValidationReportQuery,
    ApproveFields,
)
OUTPUTS: tuple[type[BaseModel], ...] = (
    ValidationReportOut,
    ValidationReportDetailOut,
    ValidationReportPageOut,
)
