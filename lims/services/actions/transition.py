"""What one lifecycle action does to a unit, as data: the effect's typed outcome, and the
transition that applies the lifecycle table's status and custody and words the ledger
entries (product §4, decision 57).

Nothing here writes to the database. ``units.perform_action`` runs an action's effect,
applies the transition, then appends the entries, signatures and events in its transaction;
the benchmark's simulator (``bench/simulate.py``) applies the very same transition to
transient units, so a seeded ledger reads exactly like the services' own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ...domain.lifecycle import Action, Fields
from ...models import LedgerEntry, MaterialUse, Unit
from ..custody.ledger import Movement, movement_of
from ..custody.signatures import SignatureDraft
from ..fhir import resources


class Actor(Protocol):
    """Who acts: a ``User``, or the simulator's plain stand-in."""

    id: int
    full_name: str
    role: str


@dataclass
class Outcome:
    """What an action's effect did besides changing the unit, handed back explicitly."""

    recorded: dict[str, Any] = field(default_factory=dict)  # facts for the action's entry
    products: list[Unit] = field(default_factory=list)  # units it made (processing, split)
    signatures: list[SignatureDraft] = field(default_factory=list)  # written with the entry
    entries: list[LedgerEntry] = field(default_factory=list)  # written before it (inline steps)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # notifications
    uses: list[MaterialUse] = field(default_factory=list)  # equipment and lots, cite the entry


# An effect: (unit, validated fields, now, actor) → what it did. It may refuse (raise).
Effect = Callable[[Unit, Any, datetime, Any], Outcome]


@dataclass(frozen=True)
class EntryDraft:
    """A ledger entry before it takes its place in the chain."""

    unit: Unit
    action: str
    movement: Movement
    data: dict[str, Any]
    reason: str | None = None


@dataclass
class Transition:
    """An applied action: the unit as it now stands, and what the ledger will say of it."""

    action: Action
    unit: Unit
    fields: Fields
    outcome: Outcome
    before: dict[str, Any]

    def entries(self) -> list[EntryDraft]:
        """The action's entry, then one per product made. Call once products have ids."""
        recorded = self.fields.model_dump(mode="json", exclude_none=True)
        reason = recorded.pop("reason", None)
        data = {**recorded, **self.outcome.recorded}
        products = self.outcome.products
        if products:
            data["created_units"] = [product_ref(p) for p in products]
        name = self.action.name
        drafts = [
            EntryDraft(self.unit, name, movement_of(self.unit, before=self.before), data, reason)
        ]
        for product in products:
            product_data = {
                "parent": product_ref(self.unit),
                "volume_ml": product.volume_ml,
                "cell_count": product.cell_count,
                "expires_at": product.expires_at.isoformat() if product.expires_at else None,
            }
            drafts.append(EntryDraft(product, name, movement_of(product), product_data))
        return drafts


def apply_transition(
    unit: Unit,
    action: Action,
    fields: Fields,
    outcome: Outcome,
    actor: Actor,
    now: datetime,
    before: dict[str, Any],
) -> Transition:
    """The lifecycle table's part of an action, after its effect: the status it leads to,
    who holds the unit now, and who holds what it made. ``before`` is where the unit stood
    before the effect (``ledger.position``)."""
    if action.to_status is not None:
        unit.status = action.to_status.value
    if action.custody == "actor":
        unit.custodian_id = actor.id
    elif action.custody == "none":
        unit.custodian_id = None
    for product in outcome.products:  # whoever completes processing holds what it made
        product.custodian_id = unit.custodian_id
    unit.updated_at = now
    return Transition(action, unit, fields, outcome, before)


def events_of(name: str, unit: Unit) -> list[tuple[str, dict[str, Any]]]:
    """What the lab is told when an action changes a unit's status (product §8)."""
    expires = unit.expires_at.isoformat() if unit.expires_at else None
    if name == "receive":
        return [("unit_received", {"status": unit.status})]
    if name in ("release", "exceptional_release"):
        return [
            ("product_released", {"expires_at": expires}),
            ("fhir_resource", {"trigger": "released", "resource": resources.product(unit)}),
        ]
    if name == "administer":
        entry = resources.administration_entry(unit)  # the entry this action just wrote
        if entry is not None:
            procedure = resources.administration(unit, entry)
            return [("fhir_resource", {"trigger": "administered", "resource": procedure})]
    if name == "expire":
        return [("expired", {"expires_at": expires})]
    return []


def product_ref(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "type": unit.unit_type,
        "product_code": unit.product_code,
        "division": unit.division,
    }
