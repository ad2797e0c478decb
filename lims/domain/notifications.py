"""What the lab is told, whom, and how urgently (product §8). Data in one screen.

Audiences: ``lab`` (every active technician), ``qa`` (every active QA user), ``clinician``
(the patient's treating clinician; when none is known, every active clinician). Urgent
events reach every channel whatever the user chose; the others follow each user's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Urgency(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    INAPP = "inapp"
    EMAIL = "email"
    WEBHOOK = "webhook"  # one per event, to the clinic's endpoint, not per person


@dataclass(frozen=True)
class EventKind:
    key: str
    title: str
    urgency: Urgency
    audience: tuple[str, ...]


EVENTS: dict[str, EventKind] = {
    e.key: e
    for e in (
        EventKind("unit_received", "Unit received", Urgency.NORMAL, ("lab",)),
        EventKind("ready_for_review", "Product ready for QA review", Urgency.NORMAL, ("qa",)),
        EventKind("qc_out_of_spec", "QC out of specification", Urgency.HIGH, ("qa", "lab")),
        EventKind(
            "product_released",
            "Product released: ready for injection",
            Urgency.NORMAL,
            ("clinician",),
        ),
        EventKind("expiry_warning", "Expiry approaching", Urgency.HIGH, ("clinician", "lab")),
        EventKind("expired", "Unit expired", Urgency.HIGH, ("clinician", "qa")),
        EventKind(
            "identity_mismatch", "Patient/product mismatch", Urgency.URGENT, ("qa", "clinician")
        ),
        EventKind(
            "sterility_positive",
            "Positive sterility after release",
            Urgency.URGENT,
            ("clinician", "qa"),
        ),
        EventKind("transit_overdue", "Transit overdue", Urgency.HIGH, ("lab", "qa")),
        EventKind(
            "shipment_discrepancy",
            "Shipment arrived with a discrepancy",
            Urgency.HIGH,
            ("qa", "lab"),
        ),
        EventKind(
            "equipment_due", "Equipment calibration or maintenance due", Urgency.HIGH, ("lab", "qa")
        ),
        EventKind(
            "reagent_lot_flagged", "Reagent lot used up or expired", Urgency.HIGH, ("lab", "qa")
        ),
        # The treatment course (decisions 112, 113): outcome visits for the treating clinician
        # (named in the event), adverse reactions for QA at once.
        EventKind("assessment_due", "Outcome visit due", Urgency.NORMAL, ("clinician",)),
        EventKind("assessment_overdue", "Outcome visit overdue", Urgency.HIGH, ("clinician",)),
        EventKind(
            "adverse_reaction", "Adverse reaction reported", Urgency.URGENT, ("qa", "clinician")
        ),
        # For the hospital's systems, not for people: the webhook alone carries it, with the
        # product's FHIR resource at release and the Procedure at administration (decision 107).
        EventKind("fhir_resource", "FHIR resource", Urgency.NORMAL, ()),
    )
}
# The kinds people receive (in-app, e-mail) and choose channels for; the others go to the
# webhook only.
PERSONAL_EVENTS = {key: kind for key, kind in EVENTS.items() if kind.audience}

PERSONAL_CHANNELS = (Channel.INAPP, Channel.EMAIL)


def event_kind(key: str) -> EventKind:
    try:
        return EVENTS[key]
    except KeyError:
        raise KeyError(f"unknown event {key!r}; known: {', '.join(EVENTS)}") from None


def may_switch_off(kind: EventKind) -> bool:
    return kind.urgency is not Urgency.URGENT


def backoff_seconds(attempt: int, base: float = 10.0, cap: float = 3600.0) -> float:
    """Exponential back-off before retry ``attempt`` (1, 2, …): 10 s, 20 s, 40 s … ≤ 1 h."""
    return min(cap, base * 2 ** max(0, attempt - 1))
