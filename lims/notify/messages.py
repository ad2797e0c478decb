"""What a notification says. In-app messages stay inside the LIMS and may name the patient;
e-mail and webhooks leave it, so they carry identifiers and a link, never a name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from ..domain.notifications import EVENTS
from ..extensions import db
from ..models import Unit
from ..models.notify import OutboxEvent
from ..timefmt import local_time


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str | None


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return local_time(value) if isinstance(value, datetime) else "—"


def _details(kind: str, data: dict[str, Any], unit: Unit | None) -> str:
    expires = _when(data.get("expires_at") or (unit.expires_at if unit else None))
    if kind == "product_released":
        return f"Ready for injection, usable until {expires}."
    if kind == "expiry_warning":
        return f"Expires {expires} (under {data.get('hours')} h left)."
    if kind == "expired":
        return f"Expired at {expires}; it can no longer be used."
    if kind == "qc_out_of_spec":
        return str(data.get("description", "A QC result is outside specification."))
    if kind == "sterility_positive":
        return (
            f"{data.get('description', 'Sterility culture positive')}. Do not inject; "
            "contact QA now."
        )
    if kind == "identity_mismatch":
        return (
            f"Wristband {data.get('wristband')} did not match at {data.get('action')}; "
            "the action was refused."
        )
    if kind == "transit_overdue":
        expected = data.get("expected_by")
        late = f", expected by {_when(expected)}" if expected else ""
        return f"In transit since {_when(data.get('dispatched_at'))}{late}."
    if kind == "ready_for_review":
        return "QC is complete; the product waits for QA review and release."
    if kind == "fhir_resource":
        resource = data.get("resource") or {}
        return f"{resource.get('resourceType', 'Resource')} of the unit, {data.get('trigger')}."
    if kind in (
        "equipment_due",
        "reagent_lot_flagged",
        "shipment_discrepancy",
        "assessment_due",
        "assessment_overdue",
        "adverse_reaction",
    ):
        return str(data.get("message") or "")
    return f"Status: {data.get('status') or (unit.status if unit else '—')}."


def message_for(event: OutboxEvent, *, leaves_the_lims: bool) -> Message:
    data = event.data
    unit = db.session.get(Unit, event.unit_id) if event.unit_id else None
    # A unit's event names the unit; a register's (equipment, reagent lot) names its subject.
    label = (
        f"{unit.eye_readable} {unit.product_code} {unit.division}"
        if unit
        else str(data.get("subject") or "")
    )
    title = f"{EVENTS[event.kind].title}: {label}".strip(": ")
    body = _details(event.kind, data, unit)
    if unit is not None and not leaves_the_lims:
        body = f"{unit.unit_type} for {unit.patient.name} ({unit.patient.mrn}). {body}"
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    path = f"/units/{unit.id}" if unit is not None else data.get("path")
    link = f"{base}{path}" if path else None
    return Message(title, body, link)
