"""The OpenAPI operation of QA's equipment permit (a deviation that lets one unit's step use
equipment the register refuses); ``openapi`` joins it to the rest."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from . import rules_doc
from .operation import Operation
from .schemas import Request, Response, UtcTime


class PermitRequest(Request):
    """The item QA permits on this unit, and why."""

    equipment: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ] = Field(description="the item's register code (E…), scanned or typed")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PermitOut(Response):
    deviation_id: int = Field(description="cite it as `deviation` in the step that uses the item")
    unit_id: int
    equipment: str
    description: str
    opened_at: UtcTime


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/units/{unit_id}/equipment-permits",
        "permit_equipment",
        "QA opens a deviation on the unit permitting one item the register refuses (out of "
        "service, calibration lapsed); the step that uses it cites the deviation, which stays "
        "open, and so blocks release, until QA closes it. Refused (409) when the item is usable",
        "PermitOut",
        201,
        request="PermitRequest",
        errors=(400, 401, 403, 404, 409, 415, 422),
        rules=rules_doc.PERMIT,
    ),
)
INPUTS: tuple[type[BaseModel], ...] = (PermitRequest,)
OUTPUTS: tuple[type[BaseModel], ...] = (PermitOut,)
