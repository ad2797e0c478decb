"""The OpenAPI operations and schemas of shipments between sites; ``openapi`` joins them to the
rest. The request bodies are the shipments service's own models (decision 102)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..services.station.shipments import DispatchIn, ItemIn, ReceiveIn, ShipmentIn
from .operation import Operation, Rule
from .schemas import PersonOut, Request, Response, UtcTime

BODY_ERRORS = (400, 415, 422)
Status = Literal["preparing", "dispatched", "received", "cancelled"]
Outcome = Literal["packed", "accepted", "missing", "damaged", "unexpected"]


class SiteRefOut(Response):
    id: int
    code: str = Field(description="the site's ISBT 128 facility identification number")
    name: str


class ItemOut(Response):
    id: int
    unit_id: int | None = Field(description="null: an unexpected code naming no unit here")
    din: str | None
    product_code: str | None
    division: str | None
    unit_type: str | None
    scanned: str | None = Field(description="what was scanned, for an unknown unexpected code")
    on_manifest: bool
    outcome: Outcome = Field(description="packed until the shipment is received")
    deviation_id: int | None


class ShipmentOut(Response):
    id: int
    code: str = Field(description="SH + sending facility + year + sequence: the manifest's barcode")
    status: Status
    from_site: SiteRefOut
    to_site: SiteRefOut
    container: str
    courier: str
    tracking_number: str | None
    condition: str
    condition_label: str
    temperature_range: str = Field(description="what the arrival temperature must be within")
    logger_id: str | None
    note: str | None
    created_by: PersonOut
    created_at: UtcTime
    packed_by: PersonOut | None
    checked_by: PersonOut | None = Field(description="the second person who checked the packing")
    dispatched_at: UtcTime | None
    expected_by: UtcTime | None
    received_by: PersonOut | None
    received_at: UtcTime | None
    arrival_temperature_c: float | None
    receipt_note: str | None
    discrepancies: int
    items: list[ItemOut]


class ShipmentsOut(Response):
    items: list[ShipmentOut]


class ShipmentsQuery(Request):
    status: Status | None = Field(None, description="only shipments in this status")


class CancelIn(Request):
    reason: str = Field(min_length=3, max_length=500)


NOT_MEMBER = Rule(None, ("not_a_member",), "only the site's people pack or receive (403)")
LINKS = {
    name: {"shipment_id": "$response.body#/id"}
    for name in ("get_shipment", "add_shipment_item", "dispatch_shipment", "receive_shipment")
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/shipments",
        "list_shipments",
        "Shipments, newest first: every one for QA and admin, those of the caller's sites for "
        "others",
        "ShipmentsOut",
        query="ShipmentsQuery",
        errors=(401, 403, 422),
    ),
    Operation(
        "post",
        "/shipments",
        "create_shipment",
        "Start packing a shipment from a site the caller belongs to: shipment_created",
        "ShipmentOut",
        201,
        request="ShipmentIn",
        errors=(*BODY_ERRORS, 401, 403),
        rules=(
            Rule("to_site", ("same_site",), "another site than the sender"),
            Rule(None, ("unknown_site",), "registered, active sites"),
            NOT_MEMBER,
        ),
        links=LINKS,
    ),
    Operation(
        "get",
        "/shipments/{shipment_id}",
        "get_shipment",
        "One shipment with its items and, once received, each item's outcome",
        "ShipmentOut",
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/shipments/{shipment_id}/items",
        "add_shipment_item",
        "Scan a unit into a shipment being packed (its code, or unit_id): a collection not yet "
        "dispatched, or a quarantined or released product; shipment_item_added",
        "ShipmentOut",
        201,
        request="ItemIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule("code", ("code_or_unit", "ambiguous", "wrong_kind"), "one unit's code"),
            Rule(
                None,
                ("already_packed", "in_other_shipment", "not_shippable", "expired"),
                "what cannot travel (409)",
            ),
            NOT_MEMBER,
        ),
        links=LINKS,
    ),
    Operation(
        "post",
        "/shipments/{shipment_id}/items/{item_id}/remove",
        "remove_shipment_item",
        "Take a unit out of a shipment being packed: shipment_item_removed",
        "ShipmentOut",
        errors=(401, 403, 404, 409),
    ),
    Operation(
        "post",
        "/shipments/{shipment_id}/dispatch",
        "dispatch_shipment",
        "Dispatch: the caller packed it, a second person (username and password) checked it. "
        "Each collection is dispatched (in transit), each product shipped (status kept), "
        "nobody holds them; every entry names the shipment",
        "ShipmentOut",
        request="DispatchIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409, 429),
        rules=(
            Rule(
                "checked_by",
                ("unknown_checker", "same_person", "checker_role"),
                "another active technician, clinician or QA",
            ),
            Rule("checked_by_password", ("wrong_password",), "the checker's own password"),
            Rule("expected_by", ("expected_in_past",), "a time after now"),
            Rule(None, ("empty_shipment",), "at least one unit (409)"),
            NOT_MEMBER,
        ),
        links=LINKS,
    ),
    Operation(
        "post",
        "/shipments/{shipment_id}/receive",
        "receive_shipment",
        "Receive at the destination: every unit scanned in, those damaged named. Manifest units "
        "not scanned are missing, scanned units not on it unexpected; collections are received "
        "(receipt's acceptance checks), products arrive. A discrepancy or a temperature outside "
        "the shipping condition needs the note, opens a deviation per unit and tells QA",
        "ShipmentOut",
        request="ReceiveIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
        rules=(
            Rule("note", ("note_required",), "required when anything is not as sent"),
            Rule("scanned", ("nothing_scanned", "ambiguous", "wrong_kind"), "units' codes"),
            Rule("damaged", ("damaged_not_scanned",), "codes also scanned in"),
            NOT_MEMBER,
        ),
    ),
    Operation(
        "post",
        "/shipments/{shipment_id}/cancel",
        "cancel_shipment",
        "Cancel a shipment being packed (its units stay where they are): shipment_cancelled",
        "ShipmentOut",
        request="CancelIn",
        errors=(*BODY_ERRORS, 401, 403, 404, 409),
    ),
    Operation(
        "get",
        "/shipments/{shipment_id}/manifest",
        "shipment_manifest",
        "The manifest as a PDF (the shipment's Code 128, from and to, how it travels, the units, "
        "no patient named; the receipt once received)",
        None,
        errors=(401, 403, 404),
        media=("application/pdf",),
    ),
    Operation(
        "get",
        "/shipments/{shipment_id}/packing-list",
        "shipment_packing_list",
        "The packing list for inside the box, with tick boxes and the two signatures, as a PDF",
        None,
        errors=(401, 403, 404),
        media=("application/pdf",),
    ),
)
INPUTS = (ShipmentIn, ItemIn, DispatchIn, ReceiveIn, CancelIn, ShipmentsQuery)
OUTPUTS = (SiteRefOut, ItemOut, ShipmentOut, ShipmentsOut)
