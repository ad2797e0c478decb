"""The API's own request and response shapes, as pydantic models.

Responses are built through these models, so the OpenAPI document (generated from the
same models) cannot drift from what the API sends. The lifecycle's request fields live in
``lims.domain.lifecycle`` and are documented from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from ..domain.catalogue import CATALOGUE
from ..domain.ledger_chain import utc_iso
from ..domain.lifecycle import Status

MAX_PER_PAGE = 100

# Every time leaves the API as ISO 8601 UTC with a "Z", to the microsecond (as hashed).
UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str, when_used="json"),
    Field(json_schema_extra={"format": "date-time", "examples": ["2026-11-25T09:30:00.000000Z"]}),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Request):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, strip_whitespace=False)
    ]


SearchText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$"),
]
UnitTypeKey = Annotated[
    Literal[tuple(CATALOGUE)],
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    Field(description="a catalogue type (any case)"),
]


class UnitQuery(Request):
    """Query parameters of the unit list."""

    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] | None = None
    status: Status | None = None
    type: UnitTypeKey | None = None
    q: Annotated[
        SearchText | None,
        Field(
            description="an identifier (with or without check character, or '=' bar-coded), "
            "a medical record number, or part of a patient's name"
        ),
    ] = None


# ---------------------------------------------------------------------------- responses


class Response(BaseModel):
    model_config = ConfigDict(json_schema_mode_override="serialization")


class PersonOut(Response):
    id: int
    name: str


class ActorOut(PersonOut):
    role: str


class UserOut(Response):
    id: int
    username: str
    role: str
    name: str


class PatientOut(Response):
    id: int
    mrn: str
    name: str
    wristband: str


class LocationOut(Response):
    id: int
    code: str
    name: str
    path: str


class UnitOut(Response):
    id: int
    identifier: str = Field(description="the 13-character Donation Identification Number")
    check_character: str = Field(description="ISO 7064 Mod 37-2 over the identifier")
    barcode_data: str
    eye_readable: str
    product_code: str
    division: str
    status: Status
    type: str
    type_name: str
    parent_id: int | None
    volume_ml: float
    cell_count: int | None
    collection_site: str | None
    collected_at: UtcTime
    received_at: UtcTime | None
    processed_at: UtcTime | None
    expires_at: UtcTime | None
    custodian: PersonOut | None
    location: LocationOut | None
    deviation: bool
    version: int = Field(
        description="send it back as 'version' with an action to refuse stale edits"
    )
    patient: PatientOut


class UnitDetailOut(UnitOut):
    allowed_actions: list[str] = Field(description="actions the caller may take now")
    children: list[int] = Field(description="ids of the units made from this one")


class UnitPageOut(Response):
    items: list[UnitOut]
    page: int
    per_page: int
    total: int


class LedgerEntryOut(Response):
    id: int
    seq: int
    unit_id: int | None
    product_code: str | None
    division: str | None
    action: str
    from_status: str | None
    to_status: str | None
    from_custodian_id: int | None
    to_custodian_id: int | None
    from_location_id: int | None
    to_location_id: int | None
    actor: ActorOut
    recorded_at: UtcTime
    data: dict[str, Any]
    reason: str | None
    corrects_id: int | None
    entry_hash: str
    prev_hash: str


class ActionResultOut(Response):
    unit: UnitDetailOut
    entries: list[LedgerEntryOut] = Field(description="the ledger entries this action wrote")
    products: list[UnitOut] = Field(description="units created (complete_processing)")


class HistoryOut(Response):
    unit_id: int
    identifier: str
    entries: list[LedgerEntryOut] = Field(
        description="every entry of the collection (all units sharing the identifier), in order"
    )


class ChainBreakOut(Response):
    seq: int | None
    entry_id: int | None
    problem: str


class VerifyOut(Response):
    intact: bool
    checked: int
    head_seq: int
    first_break: ChainBreakOut | None


class TokenOut(Response):
    token: str
    expires_at: UtcTime
    user: UserOut


class ErrorBody(Response):
    code: str
    message: str
    fields: dict[str, str] | None = Field(
        default=None, description="field name → what is wrong with it (invalid data only)"
    )


class ErrorOut(Response):
    error: ErrorBody
