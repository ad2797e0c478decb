"""Request and response shapes of the readiness board and appointments API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .schemas import PersonOut, Request, Response, UtcTime


class ReadinessQuery(Request):
    """Query parameters of the board."""

    clinician: int | None = Field(
        None, ge=1, le=2_147_483_647, description="QA and admin: a clinician's board (default: all)"
    )


class WarningOut(Response):
    code: Literal[
        "qc_alert",
        "expired",
        "expires_before_appointment",
        "ready_after_appointment",
        "may_miss_appointment",
        "nothing_under_way",
        "deviation_open",
    ]
    level: Literal["danger", "warn"]
    text: str


class EstimateOut(Response):
    """When the unit will probably be released, from the lab's own stage history."""

    product_type: str = Field(description="the product the estimate is for")
    at: UtcTime | None = Field(description="the estimate (None: no history yet)")
    low: UtcTime | None = Field(description="early end of the usual band (approximate)")
    high: UtcTime | None = Field(description="late end of the usual band (approximate)")
    based_on: int = Field(description="the fewest finished products behind any stage used")
    sure: bool = Field(description="at least 5 products behind every stage")
    late: bool = Field(description="already longer in its stage than usual")
    words: str


class AppointmentOut(Response):
    id: int
    patient_id: int
    clinician_id: int
    kind: Literal["collection", "injection"]
    scheduled_at: UtcTime
    unit_id: int | None
    status: Literal["booked", "cancelled", "done"]
    notes: str | None


class UnitReadinessOut(Response):
    id: int
    parent_id: int | None
    label: str = Field(description="identifier, product code and division")
    type: str
    status: str
    words: str = Field(description="the status in plain words")
    ready: bool = Field(description="released, not expired, no QC alert")
    expires_at: UtcTime | None
    counts_down_to: UtcTime | None = Field(
        description="the expiry the board counts down to (none while processing)"
    )
    seconds_left: int | None = Field(description="until counts_down_to, as of generated_at")
    expired: bool
    estimate: EstimateOut | None = Field(description="for units not yet released")
    appointment_id: int | None = Field(description="the injection it is compared against")
    warnings: list[WarningOut]


class NextSessionOut(Response):
    """The patient's next planned treatment session and whether its product is ready."""

    id: int
    plan_id: int
    number: int
    kind: str
    product_type: str
    planned_at: UtcTime
    course: str = Field(description="the plan's therapy course (chain of identity)")
    product_ready: bool = Field(
        description="a live unit of this product type and course is ready (released, in date)"
    )
    ready_unit_id: int | None


class PatientReadinessOut(Response):
    id: int
    name: str
    mrn: str
    next_appointment: AppointmentOut | None
    next_session: NextSessionOut | None = Field(
        description="the next planned session of the patient's treatment plans"
    )
    appointments: list[AppointmentOut] = Field(description="booked, still to come, soonest first")
    warnings: list[WarningOut]
    units: list[UnitReadinessOut]


class ReadinessOut(Response):
    generated_at: UtcTime
    clinician: PersonOut | None = Field(description="whose board (None: every clinician's)")
    patients: list[PatientReadinessOut] = Field(description="by next appointment; none last")
    quiet: int = Field(
        description="the clinician's patients with nothing under way (not listed); 0 when the "
        "board is truncated, which does not count them"
    )
    truncated: bool = Field(description="more patients are busy than the board lists (200)")
