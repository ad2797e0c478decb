"""The OpenAPI operation of a unit's certificate of release (decisions 85–86): JSON, or the
PDF; ``openapi`` joins it to the rest."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.identifiers import MAX_ID
from .operation import Operation
from .schemas import Request, Response, UtcTime


class CertificateQuery(Request):
    """Which certificate, which copy, which format (the Accept header may ask for the PDF)."""

    number: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="an earlier certificate by its number; absent: the current one"
    )
    # ``copy`` would shadow BaseModel.copy: the field is ``copy_``, spelt ``copy`` on the wire.
    copy_: Literal["travelling", "file"] = Field(
        "travelling",
        alias="copy",
        description="travelling: patient by initials and birth date (goes with the product); "
        "file: adds the full name, MRN and wristband (QA, technicians, clinicians)",
    )
    format: Literal["json", "pdf"] | None = Field(
        None,
        description="pdf: the printable certificate; absent: JSON, unless the Accept header "
        "prefers application/pdf",
    )


class ReplacedOut(Response):
    number: int
    issued_at: str = Field(description="UTC, ISO 8601")
    sha256: str


class FilePatientOut(Response):
    name: str
    mrn: str
    wristband: str


class CertificateOut(Response):
    model_config = ConfigDict(
        json_schema_mode_override="serialization", serialize_by_alias=True, populate_by_name=True
    )

    unit_id: int
    number: int = Field(description="1, 2, … per unit; the highest is the current one")
    numbers: list[int] = Field(description="every certificate the unit holds")
    issued_at: UtcTime
    issued_by: str
    reason: str = Field(description="why it was issued: a release, a late QC result …")
    replaces: ReplacedOut | None = Field(description="the certificate this one replaces")
    sha256: str = Field(description="SHA-256 of the canonical JSON of content, as issued")
    intact: bool = Field(
        description="the content's digest matches the stored one and the ledger entry's"
    )
    ledger_seq: int | None = Field(description="the certificate_issued ledger entry")
    copy_: Literal["travelling", "file"] = Field(alias="copy")
    patient: FilePatientOut | None = Field(
        description="the file copy's additions (the patient record now); null when travelling"
    )
    content: dict[str, Any] = Field(
        description="the certificate as issued: certificate, facility, product, patient "
        "(initials, birth date), collection, processing, equipment, reagent_lots, qc, "
        "qc_summary, deviations, release, signatures, status, expiry, storage, statements, "
        "changes_after_first_entry and changes_statement"
    )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/units/{unit_id}/certificate",
        "unit_certificate",
        "A released unit's certificate of release (the current one, or ?number=), as JSON or, "
        "with ?format=pdf or Accept: application/pdf, as the printable PDF; a unit without "
        "one is 409 no_certificate, an unknown number 404",
        "CertificateOut",
        query="CertificateQuery",
        errors=(401, 403, 404, 409, 422),
        media=("application/pdf",),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (CertificateQuery,)
OUTPUTS: tuple[type[BaseModel], ...] = (CertificateOut,)
