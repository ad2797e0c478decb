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
    StrictBool,
    StringConstraints,
)

from ..domain.catalogue import CATALOGUE
from ..domain.ledger_chain import utc_iso
from ..domain.lifecycle import DonorTesting, Status
from ..domain.qc import OPERATORS, TESTS, Verdict

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
    """A username and the account's own password. An account made by single sign-on has no
    password here and gets no token this way; with LOCAL_PASSWORDS=0 only an admin account
    not linked to the provider does (decision 105)."""

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
PRODUCT_TYPES = tuple(key for key, kind in CATALOGUE.items() if not kind.is_source)
ProductTypeKey = Annotated[
    Literal[PRODUCT_TYPES],
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    Field(description="a product type of the catalogue (any case); sources have no QC"),
]
QcTestKey = Annotated[
    Literal[tuple(TESTS)],
    BeforeValidator(lambda v: v.strip().lower().replace("-", "_") if isinstance(v, str) else v),
    Field(description="a QC test key"),
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


class SpecQuery(Request):
    """Query parameters of the specification list."""

    type: ProductTypeKey | None = Field(default=None, description="one product type; all if absent")


QcWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class SpecRequest(Request):
    """The next version of one specification.

    A field left out (or null) keeps its value in the version in force, so changing a limit
    never silently drops ``pending_at_release``. Numeric tests take ``operator`` and
    ``limit``; qualitative tests take ``accept``, the words that pass.
    """

    product_type: ProductTypeKey
    test: QcTestKey
    operator: Literal[tuple(OPERATORS)] | None = None
    limit: (
        Annotated[float, Field(strict=True, allow_inf_nan=False, json_schema_extra={"minimum": 0})]
        | None
    ) = None
    accept: Annotated[list[QcWord], Field(min_length=1, max_length=10)] | None = None
    required: StrictBool | None = Field(
        default=None, description="must pass before release (left out: as in force)"
    )
    pending_at_release: StrictBool | None = Field(
        default=None,
        description="a pending result may be released, flagged (left out: as in force)",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        description="why the specification changes (at least 3 characters)",
        json_schema_extra={"minLength": 3},  # checked by the service, which says why
    )


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
    donor_testing: DonorTesting | None = Field(
        description="whether the collection's donor testing was performed (a product: its "
        "collection's); null: not recorded, labelled as not performed"
    )
    chain_of_identity: str | None = Field(
        description="the therapy course's chain-of-identity identifier (ISBT 128 ST-028: CH + "
        "facility + year + 6 characters), shared by every collection and product of the course"
    )
    received_at: UtcTime | None
    processed_at: UtcTime | None
    expires_at: UtcTime | None
    custodian: PersonOut | None
    location: LocationOut | None
    deviation: bool
    thawed_at: UtcTime | None
    released_at: UtcTime | None
    exceptional_release: bool
    administered_at: UtcTime | None
    qc_alert: str | None = Field(
        description="a QC result after release that stops dispensing and administration"
    )
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
    products: list[UnitOut] = Field(
        description="units this action made: the products of complete_processing, the "
        "aliquots of split; empty for every other action"
    )


class HistoryOut(Response):
    unit_id: int
    identifier: str
    entries: list[LedgerEntryOut] = Field(
        description="every entry of the collection (all units sharing the identifier), in order"
    )


# ---------------------------------------------------------------------------- QC and release


class SpecTerms(Response):
    """What one version of a specification requires."""

    version: int
    operator: str | None = Field(description="numeric tests: >=, >, <= or <")
    limit: float | None
    accept: list[str] = Field(description="qualitative tests: the words that pass")
    required: bool = Field(description="must pass before release")
    pending_at_release: bool = Field(description="a pending result may be released, flagged")
    text: str = Field(description='as a person reads it, e.g. "≥ 70 %"')


class SpecVersionOut(SpecTerms):
    reason: str | None = Field(description="why it was published; null for the built-in one")
    published_by: PersonOut | None
    published_at: UtcTime | None


class SpecOut(SpecTerms):
    """A specification in force for one test of one product type."""

    product_type: str
    test: str
    test_name: str
    measure: str = Field(description='unit of measure of a numeric result; "" for words')
    values: list[str] = Field(description="the words a qualitative result may be; [] for numbers")


class SpecDetailOut(SpecOut):
    history: list[SpecVersionOut] = Field(
        description="every version, oldest first; the last is the one in force"
    )


class ProductSpecsOut(Response):
    product_type: str
    name: str
    specs: list[SpecDetailOut]


class SpecsOut(Response):
    product_types: list[ProductSpecsOut]


class QcResultOut(Response):
    id: int
    unit_id: int = Field(description="the unit it was recorded on (an aliquot's parent: inherited)")
    test: str
    test_name: str
    value: float | str
    measure: str
    method: str
    lot: str
    spec_version: int = Field(description="the version it was judged against, when recorded")
    spec: str = Field(description="that version as text")
    verdict: Verdict
    recorded_by: PersonOut
    recorded_at: UtcTime
    corrects_id: int | None
    reason: str | None = Field(description="why a correction was made")
    superseded: bool = Field(
        description="a later result or correction of the same test replaces it"
    )


class ReadinessOut(Response):
    """Can the product be released on its current QC (the specs in force decide what is required)?"""

    complete: bool
    missing: list[str] = Field(description="required tests without a result")
    failing: list[str] = Field(description="tests whose current result is out of specification")
    pending: list[str] = Field(description="pending where the specification does not allow it")
    released_pending: list[str] = Field(description="pending and allowed: the release is flagged")
    problems: list[str] = Field(description="the above, in words")


class DeviationOut(Response):
    id: int
    unit_id: int
    kind: str
    description: str
    qc_result_id: int | None
    opened_by: PersonOut
    opened_at: UtcTime
    closed_at: UtcTime | None = Field(None, description="when QA's signed decision closed it")
    closed_by: PersonOut | None = None
    decision: str | None = Field(
        None, description="accepted_no_impact, accepted_with_conditions or product_rejected"
    )
    decision_note: str | None = None


class UnitQcOut(Response):
    unit_id: int
    identifier: str
    product_type: str
    results: list[QcResultOut] = Field(
        description="every result that applies (the unit's and those of the unit it was split "
        "from), oldest first, superseded ones included"
    )
    specs: list[SpecOut] = Field(description="the specifications in force for its product type")
    readiness: ReadinessOut
    deviations: list[DeviationOut]


class ReleaseQueueItemOut(Response):
    unit: UnitOut
    readiness: ReadinessOut
    deviations: int = Field(description="deviations opened on the product and its sources")
    open_deviations: int = Field(description="those QA has not yet closed with a decision")
    expires_at: UtcTime | None
    hands_on: list[str] = Field(
        description="what the caller did to this unit or its source (two-person rule: if any, "
        "another QA user must release it)"
    )


class ReleaseQueueOut(Response):
    items: list[ReleaseQueueItemOut] = Field(
        description="products in quarantine or returned, soonest expiry first"
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


class ReceiptRefOut(Response):
    """A stored head receipt: "the head was entry #seq, at this time", signed."""

    id: int
    seq: int
    issued_at: UtcTime


class FullVerificationOut(Response):
    """The full verification that found the entries up to the receipt intact."""

    job_id: int
    verified_at: UtcTime
    head_seq: int = Field(description="the head it reached, the receipt's entry or later")


class QuickVerifyOut(Response):
    """A quick check from the last intact receipt (decision 94): the entries after the
    receipt recomputed now; the entries up to it were found intact by the full verification
    named, and were not read again."""

    intact: bool
    checked: int = Field(description="entries recomputed now: those after the receipt's entry")
    head_seq: int
    first_break: ChainBreakOut | None
    from_seq: int = Field(description="the receipt's entry; entries up to it were not re-read")
    receipt: ReceiptRefOut
    full_verification: FullVerificationOut
    summary: str = Field(description="what was recomputed and what was not, in words")


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


# ---------------------------------------------------------------------------- notifications


class NotificationQuery(Request):
    """Query parameters of the caller's inbox."""

    unread: bool = Field(default=False, description="true: unread notifications only")
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


class NotificationOut(Response):
    id: int
    event: str = Field(description="the event kind, e.g. unit_received, product_released")
    unit_id: int | None
    urgency: Literal["normal", "high", "urgent"]
    created_at: UtcTime
    read: bool
    title: str
    body: str


class NotificationPageOut(Response):
    items: list[NotificationOut] = Field(description="the caller's notifications, newest first")
    page: int
    per_page: int
    total: int = Field(description="how many match (all, or unread only)")
    unread: int = Field(description="how many of the caller's notifications are unread")


# ---------------------------------------------------------------------------- long jobs


class JobOut(Response):
    """A long job (a verification of the whole ledger) and how far it has got."""

    id: int
    kind: Literal["ledger_verify", "ledger_quick_verify"] = Field(
        description="ledger_verify: every entry; ledger_quick_verify: a quick check from the "
        "last intact receipt, recorded finished (summary says what it covered)"
    )
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="entries checked so far")
    total: int = Field(description="entries to check: the ledger's length when the job started")
    percent: int = Field(description="progress as a whole percentage (0-100)")
    result: VerifyOut | None = Field(
        description="when done: the verdict (intact, or the first broken entry)"
    )
    error: str | None = Field(
        description="when failed: why the job could not finish (says nothing of the ledger)"
    )
    summary: str = Field(description="the state in one sentence, as the audit page says it")
    started_by: PersonOut
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None
