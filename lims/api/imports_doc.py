"""The OpenAPI operations and schemas of bulk imports (patients, units, locations, users):
the dry run of an uploaded file, reading it with its job's progress, confirming it, and the
templates; ``openapi`` joins them to the rest. The upload is a ``multipart/form-data`` body."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..domain import import_files
from ..services.station import data_import
from .operation import Operation, Rule
from .schemas import PersonOut, Request, Response, UtcTime

KIND_KEYS = tuple(import_files.KINDS)
ROW_STATUSES = data_import.ROW_STATUSES
MAX_PAGE = 1000


class ImportUpload(Request):
    """A file of records (``multipart/form-data``) and what it holds. Nothing is written: the
    answer is the dry run."""

    file: bytes = Field(
        description=f"CSV (UTF-8, or Windows-1252; comma, semicolon or tab separated) or XLSX "
        f"(its first sheet), a header row naming the kind's columns (docs/import.md); at most "
        f"{import_files.MAX_BYTES // (1024 * 1024)} MiB, {import_files.MAX_ROWS} rows"
    )
    kind: Literal[KIND_KEYS] = Field(  # type: ignore[valid-type]
        description="what the file holds: patients, units, locations or users"
    )


class ImportQuery(Request):
    """Which rows to show: one result, a page of them."""

    status: Literal[ROW_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="created, updated, unchanged or refused rows only"
    )
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 200


class ImportJobOut(Response):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="rows written so far")
    total: int = Field(description="rows to write")
    percent: int
    error: str | None


class ImportRowOut(Response):
    """One row of the file and what becomes of it."""

    row: int = Field(description="the file's row (the header is row 1)")
    key: str = Field(description="its natural key: MRN; DIN product code division; code; username")
    status: Literal[ROW_STATUSES]  # type: ignore[valid-type]
    problems: dict[str, str] = Field(description="refused: column -> why")
    changes: list[str] = Field(description="updated: the fields that change")
    cells: dict[str, str] = Field(description="the row's cells as the file gives them")
    record_id: int | None = Field(description="the record it matched or became")


class ImportOut(Response):
    id: int
    kind: Literal[KIND_KEYS]  # type: ignore[valid-type]
    sha256: str = Field(description="SHA-256 of the file's bytes as uploaded")
    filename: str
    file_format: Literal["csv", "xlsx"]
    status: Literal["previewed", "importing", "imported", "failed"]
    summary: str = Field(description="the state in one sentence")
    row_count: int = Field(description="data rows in the file")
    counts: dict[str, int] = Field(description="rows per result")
    imported_count: int | None = Field(description="rows written (created or updated)")
    error: str | None = Field(description="failed: why nothing was written")
    uploaded_by: PersonOut
    uploaded_at: UtcTime
    confirmed_by: PersonOut | None
    confirmed_at: UtcTime | None
    job: ImportJobOut | None = Field(description="the job importing it, once confirmed")
    rows: list[ImportRowOut] = Field(description="the rows asked for (status, offset, limit)")
    next_offset: int | None = Field(description="the offset of the next page, if any")


UPLOAD_RULES = (
    Rule(
        "file",
        ("unreadable_file",),
        "a CSV or XLSX whose header row names only the kind's columns, each once, with every "
        "required one; the rows' cells are judged one by one in the answer, not refused here",
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/imports",
        "upload_import",
        "Upload a file of patients, units, locations or users: the dry run of every row "
        "(created, updated, unchanged, or refused with the reason beside each bad cell); "
        "nothing is written until it is confirmed",
        "ImportOut",
        201,
        request="ImportUpload",
        request_media="multipart/form-data",
        errors=(400, 401, 403, 413, 415, 422),
        headers={"Location": "the import's address"},
        rules=UPLOAD_RULES,
        links={
            "get_import": {"import_id": "$response.body#/id"},
            "confirm_import": {"import_id": "$response.body#/id"},
        },
    ),
    Operation(
        "get",
        "/imports/{import_id}",
        "get_import",
        "An import: its state, its job's progress, and a page of its rows",
        "ImportOut",
        query="ImportQuery",
        errors=(401, 403, 404, 422),
    ),
    Operation(
        "post",
        "/imports/{import_id}/confirm",
        "confirm_import",
        "Import a dry run without refused rows, all or nothing, as a job (202; GET the "
        "import for its progress): every row is judged again and written in one transaction "
        "with an import ledger entry each, or none is. Once per import",
        "ImportOut",
        202,
        errors=(401, 403, 404, 409),
        links={"get_import": {"import_id": "$response.body#/id"}},
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (ImportUpload, ImportQuery)
OUTPUTS: tuple[type[BaseModel], ...] = (ImportOut,)
