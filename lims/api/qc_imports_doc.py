"""The OpenAPI operations and schemas of instrument result imports (upload, preview, confirm);
``openapi`` joins them to the rest. The upload is the one ``multipart/form-data`` body."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from ..domain import instrument_files
from ..domain.qc import TESTS
from ..services.station import qc_import
from .operation import Operation, Rule
from .rules_doc import CODE_PROBLEMS
from .schemas import PersonOut, Request, Response, UtcTime

FORMAT_KEYS = tuple(instrument_files.FORMATS)
ROW_STATUSES = qc_import.ROW_STATUSES
MAX_PAGE = 1000


class QcImportUpload(Request):
    """An instrument's export (``multipart/form-data``): the file, its format, the instrument
    that exported it and the kit lot. Nothing is recorded: the answer is the preview."""

    file: bytes = Field(
        description=f"the export as the instrument wrote it (CSV; at most "
        f"{instrument_files.MAX_BYTES // (1024 * 1024)} MiB, {instrument_files.MAX_ROWS} rows)"
    )
    format: Literal[FORMAT_KEYS] = Field(  # type: ignore[valid-type]
        description="cell_counter (NucleoCounter, Countess), flow_cytometry (marker %), "
        "endotoxin (kinetic LAL reader), generic (any CSV, with a mapping)"
    )
    instrument: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="the instrument's equipment code (E…), scanned or typed"
    )
    lot: Annotated[str, StringConstraints(max_length=40)] = Field(
        "", description="the kit lot; empty or left out: the lot the file's header names"
    )
    mapping: Annotated[str, StringConstraints(max_length=20_000)] = Field(
        "",
        description="generic files only: JSON naming the sample id's column and each result "
        "column's test and unit, e.g. " + instrument_files.MAPPING_EXAMPLE,
    )


class QcImportQuery(Request):
    """Which preview lines to show: one status, a page of them."""

    status: Literal[ROW_STATUSES] | None = Field(  # type: ignore[valid-type]
        None, description="ready, refused, skipped or imported lines only"
    )
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 200


class InstrumentOut(Response):
    id: int
    code: str
    name: str


class QcImportJobOut(Response):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="results recorded so far")
    total: int = Field(description="results to record")
    percent: int
    error: str | None


class QcImportRowOut(Response):
    """One result of the file: where it is, what it names, and what becomes of it."""

    n: int = Field(description="its place in the preview, from 1")
    line: int = Field(description="the file's line")
    column: int | None = Field(description="the file's column, from 1")
    header: str | None
    row: str = Field(description="line:column, as the result's provenance cites it")
    sample: str = Field(description="the sample id as the file gives it")
    unit_id: int | None
    unit: str | None = Field(description="DIN with check character, product code, division")
    test: Literal[tuple(TESTS)] | None  # type: ignore[valid-type]
    test_name: str | None
    raw: str | None = Field(description="the value as written, with the unit the file gives")
    value: float | str | None = Field(description="as it is recorded, in the test's unit")
    value_text: str | None
    note: str | None = Field(description="how the value was converted, when it was")
    verdict: Literal["pass", "fail", "pending"] | None
    spec: str | None
    spec_version: int | None
    lot: str
    status: Literal[ROW_STATUSES]  # type: ignore[valid-type]
    why: str | None = Field(description="refused or skipped: why")
    result_id: int | None = Field(description="imported: the QC result it became")


class QcImportOut(Response):
    id: int
    sha256: str = Field(description="SHA-256 of the file's bytes as uploaded")
    filename: str
    format: Literal[FORMAT_KEYS]  # type: ignore[valid-type]
    instrument: InstrumentOut | None
    status: Literal["previewed", "importing", "imported", "failed"]
    summary: str = Field(description="the state in one sentence")
    row_count: int = Field(description="data rows in the file")
    counts: dict[str, int] = Field(description="preview lines per status")
    imported_count: int | None
    uploaded_by: PersonOut
    uploaded_at: UtcTime
    confirmed_by: PersonOut | None
    confirmed_at: UtcTime | None
    job: QcImportJobOut | None = Field(description="the job importing a large file")
    rows: list[QcImportRowOut] = Field(description="the lines asked for (status, offset, limit)")
    next_offset: int | None = Field(description="the offset of the next page, if any")


UPLOAD_RULES = (
    Rule(
        "file",
        ("unreadable_file",),
        "an export of the format: text (UTF-8, UTF-16 with its BOM, or Windows-1252) without "
        "control characters, whose table has the format's columns (generic: the mapping's)",
    ),
    Rule(
        "mapping",
        ("unreadable_file",),
        "required for a generic file and refused for the others; JSON naming columns of "
        "known tests in units those tests take",
    ),
    Rule(
        "instrument",
        (
            *CODE_PROBLEMS,
            "wrong_kind",
            "empty",
            "too_long",
            "unknown_equipment",
            "wrong_instrument",
        ),
        "an equipment code of the register, of a kind that exports the format, and of the "
        "serial number the file's header names (if both name one)",
    ),
    Rule(
        "lot",
        ("invalid_fields",),
        "required when the file's header names no kit lot; when it names one, that lot",
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/qc-imports",
        "upload_qc_import",
        "Upload an instrument's result file: the preview of each result (its unit, value as "
        "recorded, verdict, or why it is refused); nothing is recorded until it is confirmed",
        "QcImportOut",
        201,
        request="QcImportUpload",
        request_media="multipart/form-data",
        errors=(400, 401, 403, 413, 415, 422),
        headers={"Location": "the import's address"},
        rules=UPLOAD_RULES,
        links={
            "get_qc_import": {"import_id": "$response.body#/id"},
            "confirm_qc_import": {"import_id": "$response.body#/id"},
        },
    ),
    Operation(
        "get",
        "/qc-imports/{import_id}",
        "get_qc_import",
        "An import: its state, the job's progress, and a page of its preview lines",
        "QcImportOut",
        query="QcImportQuery",
        errors=(401, 403, 404, 422),
    ),
    Operation(
        "post",
        "/qc-imports/{import_id}/confirm",
        "confirm_qc_import",
        "Record each ready result through record_qc (the same rules and ledger entries as a "
        "typed result, citing the file): 200 when done here, 202 with the job for a large "
        "file. Once per import; a row already imported is never imported again",
        "QcImportOut",
        also=(202,),
        errors=(401, 403, 404, 409),
        links={"get_qc_import": {"import_id": "$response.body#/id"}},
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (QcImportUpload, QcImportQuery)
OUTPUTS: tuple[type[BaseModel], ...] = (QcImportOut,)
