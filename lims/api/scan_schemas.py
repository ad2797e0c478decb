"""Request and response shapes of the scan API (``lims.api.scan``), kept apart from the
routes so the OpenAPI document can read them without importing the blueprint."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .schemas import LedgerEntryOut, LocationOut, PatientOut, Request, Response, UnitDetailOut


class ScanRequest(Request):
    code: str = Field(description="the scanned text (bar-coded form) or a typed identifier")


class IdentityRequest(Request):
    wristband: str = Field(description="the patient's wristband code")
    unit: str = Field(description="the unit's code, as scanned or typed")


class BatchRequest(Request):
    """The units, the action, and the action's fields beside them (as for one unit)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    units: list[int] = Field(min_length=1, max_length=200, description="unit ids")
    action: str = Field(description="a lifecycle action, e.g. move or discard")


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
