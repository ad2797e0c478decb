"""Request and response shapes of the scan API (``lims.api.scan``), kept apart from the
routes so the OpenAPI document can read them without importing the blueprint."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .schemas import LedgerEntryOut, LocationOut, PatientOut, Request, Response, UnitDetailOut

# What ``codes.classify`` reads: not blank, at most 64 characters once trimmed. Documented
# here, checked there, which names the problem (``empty``, ``too_long``).
Code = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": 64})]


class ScanRequest(Request):
    code: Code = Field(description="the scanned text (bar-coded form) or a typed identifier")


class IdentityRequest(Request):
    wristband: Code = Field(description="the patient's wristband code")
    unit: Code = Field(description="the unit's code, as scanned or typed")


class ProductCodeOut(Response):
    product_code: str
    division: str


class ScanOut(Response):
    kind: Literal["unit", "collection", "patient", "location", "product_code"]
    message: str | None = Field(description="what to do next, or why nothing can be done")
    unit: UnitDetailOut | None
    allowed_actions: list[str] = Field(description="for a unit: what the caller may do now")
    units: list[UnitDetailOut] = Field(description="for a collection: its units")
    patient: PatientOut | None
    location: LocationOut | None
    product_code: ProductCodeOut | None


class IdentityOut(Response):
    result: Literal["match", "mismatch"]
    message: str
    unit: UnitDetailOut
    unit_patient: PatientOut
    wristband_patient: PatientOut
    entry: LedgerEntryOut


class BatchError(Response):
    code: str
    message: str


class BatchItemOut(Response):
    unit_id: int
    ok: bool
    status: str | None = Field(description="the unit's status after the action")
    error: BatchError | None


class BatchOut(Response):
    action: str
    succeeded: int
    failed: int
    results: list[BatchItemOut]
