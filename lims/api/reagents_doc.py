"""The OpenAPI operations and schemas of the reagent lots (the register, QA's signed
acceptance or rejection, the recall look-up); ``openapi`` joins them to the rest."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..domain.lifecycle import Status
from ..domain.materials import reagent_names
from ..services.materials.reagents import (
    STATES,
    AcceptFields,
    ReceiveFields,
    RejectFields,
)
from .operation import Operation, Rule
from .schemas import MAX_PER_PAGE, PatientOut, PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
LOT_NEXT = ("get_reagent_lot", "accept_reagent_lot", "reject_reagent_lot", "reagent_lot_units")


def lot_links(pointer: str) -> dict[str, dict[str, str]]:
    return {name: {"lot_id": f"$response.body#/{pointer}"} for name in LOT_NEXT}


class LotQuery(Request):
    """Filters of the lot list; newest received first."""

    reagent: Literal[("", *reagent_names())] | None = Field(  # type: ignore[valid-type]
        None, description="lots of this reagent only"
    )
    state: Literal[STATES] = Field(  # type: ignore[valid-type]
        "all",
        description="usable (accepted, unexpired, with stock), awaiting (QA's acceptance), "
        "flagged (rejected, expired or used up), or all",
    )
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 25


class RecallQuery(Request):
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


LotState = Literal["usable", "awaiting", "rejected", "expired", "used_up"]


class LotOut(Response):
    id: int
    code: str = Field(
        description="the register code its label carries: R + facility + 6 digits + check"
    )
    reagent: str
    product_name: str
    manufacturer: str
    lot_number: str
    expires_on: date = Field(description="the last day of use")
    storage: str
    quantity_received: float
    quantity_remaining: float
    quantity_unit: str
    coa_ref: str = Field(description="the certificate of analysis")
    received_by: PersonOut
    received_at: UtcTime
    accepted_by: PersonOut | None
    accepted_at: UtcTime | None
    acceptance_entry_id: int | None = Field(
        description="the ledger entry of QA's signed acceptance"
    )
    flagged: str | None = Field(description="rejected, used_up or expired, once flagged")
    state: LotState = Field(
        description="what the lot is today: usable, awaiting (QA's acceptance), rejected, "
        "expired or used_up"
    )
    usable: bool


class LotPageOut(Response):
    items: list[LotOut]
    page: int
    per_page: int
    total: int


class UseOut(Response):
    id: int
    action: str
    step: str | None
    quantity: float | None
    used_at: UtcTime
    ledger_entry_id: int | None


class RecallUnitOut(Response):
    id: int
    identifier: str
    check_character: str
    eye_readable: str
    product_code: str
    division: str
    type: str
    status: Status
    patient: PatientOut
    direct: bool = Field(description="true: the lot was used on this unit; false: made from one")
    via_unit_id: int | None = Field(
        description="for a unit made from one the lot was used on: that unit"
    )
    uses: list[UseOut] = Field(description="the lot's uses on this very unit, oldest first")


class RecallOut(Response):
    lot: LotOut
    items: list[RecallUnitOut] = Field(description="by identifier, a collection's units together")
    page: int
    per_page: int
    total: int = Field(description="units the lot touched, directly or through their source")
    direct: int = Field(description="units the lot was used on")
    patients: int = Field(description="patients of those units")


RECEIVE_RULES = (
    Rule(
        "expires_on",
        ("expired_at_receipt", "invalid_fields"),
        "not before today (an expired lot is not received), not over 10 years ahead",
    ),
)
SIGN_RULES = (Rule("password", ("wrong_password",), "the signer's own password"),)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/reagent-lots",
        "list_reagent_lots",
        "Reagent lots, newest received first, by reagent and state (usable, awaiting QA, flagged)",
        "LotPageOut",
        query="LotQuery",
        errors=(401, 403, 422),
        links=lot_links("items/0/id"),
    ),
    Operation(
        "post",
        "/reagent-lots",
        "receive_reagent_lot",
        "Receive a lot: it gets a register code for its label and waits for QA's signed "
        "acceptance; the same manufacturer, product and lot number again is 409 duplicate_lot",
        "LotOut",
        201,
        request="ReceiveFields",
        errors=(*BODY_ERRORS, 401, 403, 409),
        headers={"Location": "the new lot's address"},
        rules=RECEIVE_RULES,
        links=lot_links("id"),
    ),
    Operation(
        "get",
        "/reagent-lots/{lot_id}",
        "get_reagent_lot",
        "One reagent lot, with its state today",
        "LotOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/reagent-lots/{lot_id}/accept",
        "accept_reagent_lot",
        "QA's signed acceptance (the password again, meaning approved): the lot may be used "
        "from now on. Refused (409) when decided already, expired, or signed by whoever "
        "received it; a wrong password draws on the signer's signing budget",
        "LotOut",
        request="AcceptFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=SIGN_RULES,
    ),
    Operation(
        "post",
        "/reagent-lots/{lot_id}/reject",
        "reject_reagent_lot",
        "QA's signed rejection of a lot not yet accepted (the password again, meaning "
        "rejected, a reason): it is never used",
        "LotOut",
        request="RejectFields",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=SIGN_RULES,
    ),
    Operation(
        "get",
        "/reagent-lots/{lot_id}/units",
        "reagent_lot_units",
        "The recall look-up: every unit the lot was used on and every unit made from them, "
        "with their patients, a page at a time, and the totals",
        "RecallOut",
        query="RecallQuery",
        errors=(401, 403, 404, 422),
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (
    LotQuery,
    RecallQuery,
    ReceiveFields,
    AcceptFields,
    RejectFields,
)
OUTPUTS: tuple[type[BaseModel], ...] = (LotOut, LotPageOut, RecallOut)
