"""The OpenAPI operations and schemas of the audit workspace (ledger search, unit reports); ``openapi`` joins them to the rest."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from ..domain.lifecycle import Status
from ..services.audit.ledger_search import ACTION_NAMES
from . import rules_doc
from .operation import Operation
from .schemas import LedgerEntryOut, Request, Response

Filter = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class LedgerQuery(Request):
    """Filters of the ledger search; every one given must match. Newest first."""

    unit: Filter | None = Field(
        None,
        description="a unit id, a unit's scanned or typed code with product code and division "
        "(that unit), or a DIN with its check character (the whole collection)",
    )
    patient: Filter | None = Field(None, description="MRN, wristband code or patient id")
    user: Filter | None = Field(None, description="username or user id: who recorded the entry")
    action: Filter | None = Field(
        None,
        description="an action name, e.g. release",
        json_schema_extra={"enum": ["", *ACTION_NAMES]},
    )
    status: Filter | None = Field(
        None,
        description="entries that moved the unit into this status (not notes recorded while it stood there)",
        json_schema_extra={"enum": ["", *(s.value for s in Status)]},
    )
    since: Filter | None = Field(
        None,
        description="ISO 8601 date and time with zone (2026-11-20T08:00:00Z), or a date "
        "(from the start of that day in the site's zone)",
    )
    until: Filter | None = Field(
        None,
        description="ISO 8601 date and time with zone (inclusive), or a date (to the end of "
        "that day in the site's zone)",
    )
    cursor: Filter | None = Field(
        None,
        description="next_cursor of the page before; absent: the newest entries",
        json_schema_extra={"pattern": "^([1-9][0-9]{0,9})?$"},
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class ReportQuery(Request):
    format: Literal["csv", "pdf"] = Field("pdf", description="csv or pdf")


class LedgerPageOut(Response):
    items: list[LedgerEntryOut] = Field(description="matching entries, newest (highest seq) first")
    next_cursor: str | None = Field(
        description="pass as cursor for the next (older) page; null on the last page"
    )
    filters: dict[str, str] = Field(description="each filter given, as it was resolved")


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/ledger",
        "search_ledger",
        "Search the custody ledger by unit, patient, user, action, status and time, newest "
        "first, paged by cursor; an unknown unit, patient or user is 404",
        "LedgerPageOut",
        query="LedgerQuery",
        errors=(401, 403, 404, 422),
        rules=rules_doc.LEDGER_SEARCH,
    ),
    Operation(
        "get",
        "/units/{unit_id}/report",
        "unit_report",
        "A unit's chain-of-custody report (its lineage from the source, signatures, entry "
        "hashes, the chain checked at generation) as CSV or PDF",
        None,
        query="ReportQuery",
        errors=(401, 403, 404, 422),
        headers={"X-Chain-Check": "intact or failed: the report's entries checked at generation"},
        media=("text/csv", "application/pdf"),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (LedgerQuery, ReportQuery)  # query and body models
OUTPUTS: tuple[type[BaseModel], ...] = (LedgerPageOut,)  # response models
