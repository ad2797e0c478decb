"""Processing steps, completing processing into products, and splitting into aliquots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from string import ascii_uppercase

from sqlalchemy import select

from ...domain.catalogue import UnitType, unit_type
from ...domain.errors import Conflict, Invalid
from ...domain.lifecycle import (
    ACTIONS,
    CompleteProcessingFields,
    Context,
    SplitFields,
    Status,
    StepFields,
    guard_field,
)
from ...domain.processing import missing_steps, protocol_for
from ...domain.roles import Role
from ...extensions import db
from ...models import LedgerEntry, Unit, User
from ..custody import ledger
from ..materials import uses
from .transition import Outcome


def recorded_steps(unit: Unit) -> list[LedgerEntry]:
    """The unit's step entries since processing last started, oldest first."""
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.unit_id == unit.id,
                LedgerEntry.action.in_(("start_processing", "record_step")),
            )
            .order_by(LedgerEntry.seq)
        )
    )
    starts = [i for i, e in enumerate(entries) if e.action == "start_processing"]
    return entries[starts[-1] + 1 :] if starts else entries


def step_data(entry: LedgerEntry) -> dict:
    return json.loads(entry.data)


def record_step(
    unit: Unit, fields: StepFields, now: datetime, actor: User, *, prefix: str = ""
) -> Outcome:
    """One step as done: its equipment and lot checked against the registers at the time the
    step started, their uses recorded, the lot's stock taken."""
    protocol = protocol_for(unit.unit_type)
    assert protocol is not None  # the step_in_protocol guard ran
    step = protocol.step(fields.step)
    outcome = Outcome()
    recorded = outcome.recorded
    recorded["protocol"] = protocol.key
    recorded["step_name"] = step.name if step else fields.step
    recorded["operator"] = actor.full_name
    used_at = fields.started_at.astimezone(UTC)
    if fields.equipment:
        checked = uses.check_equipment(
            unit,
            fields.equipment,
            used_at,
            kind=step.equipment if step else None,
            deviation_id=fields.deviation,
            field=f"{prefix}equipment",
        )
        recorded.update(checked.recorded())
        outcome.uses.append(uses.use(unit, checked, action="record_step", step=fields.step, at=now))
    if fields.lot:
        wanted = (step.reagent if step else None) or fields.reagent
        if fields.reagent and step and step.reagent and fields.reagent != step.reagent:
            message = f"{step.name} uses {step.reagent}, not {fields.reagent}"
            raise Invalid(message, code="invalid_fields", fields={f"{prefix}reagent": message})
        checked = uses.check_lot(
            fields.lot, used_at, reagent=wanted, quantity=fields.quantity, field=f"{prefix}lot"
        )
        recorded.update(checked.recorded())
        outcome.uses.append(uses.use(unit, checked, action="record_step", step=fields.step, at=now))
    recorded["started_at"] = used_at.isoformat()
    recorded["ended_at"] = fields.ended_at.astimezone(UTC).isoformat()
    return outcome


def _record_inline_steps(
    unit: Unit, fields: CompleteProcessingFields, now: datetime, actor: User, written: list
) -> set[str]:
    """Steps given with the completion: each checked like ``record_step`` and recorded."""
    action = ACTIONS["record_step"]
    done = set()
    for index, step in enumerate(fields.steps):
        context = Context(unit, step, Role(actor.role), now)
        for guard in action.guards:
            problem = guard(context)
            if problem:
                name = f"steps.{index}.{guard_field(guard) or 'step'}"
                raise Invalid(
                    f"step {index + 1}: {problem}", code="invalid_fields", fields={name: problem}
                )
        done_step = record_step(unit, step, now, actor, prefix=f"steps.{index}.")
        entry = ledger.append(
            unit=unit,
            action="record_step",
            actor=actor,
            movement=ledger.standing(unit),
            data={**step.model_dump(mode="json", exclude_none=True), **done_step.recorded},
            at=now,
        )
        uses.attach(done_step.uses, entry)
        written.append(entry)
        done.add(step.step)
    return done


def complete(unit: Unit, fields: CompleteProcessingFields, now: datetime, actor: User) -> Outcome:
    """Refused until every required step is recorded; makes each product in quarantine."""
    outcome = Outcome()
    protocol = protocol_for(unit.unit_type)
    if protocol is not None:
        done = {step_data(e).get("step") for e in recorded_steps(unit)}
        done |= _record_inline_steps(unit, fields, now, actor, outcome.entries)
        missing = missing_steps(protocol, done)
        if missing:
            names = ", ".join(s.name for s in protocol.steps if s.key in missing)
            raise Conflict(
                f"record every step of {protocol.name} first; missing: {names}",
                code="steps_missing",
            )
    kinds = [unit_type(product.type) for product in fields.products]
    taken = set(
        db.session.scalars(
            select(Unit.product_code).where(
                Unit.din == unit.din,
                Unit.product_code.in_([k.product_code for k in kinds]),
                Unit.division == "00",
            )
        )
    )
    if taken:
        made = ", ".join(k.key for k in kinds if k.product_code in taken)
        raise Conflict(
            f"this collection already has a {made} product; one per type (split for aliquots)",
            code="product_exists",
        )
    unit.processed_at = now
    outcome.products.extend(make_products(unit, fields, now))
    return outcome


def make_products(unit: Unit, fields: CompleteProcessingFields, now: datetime) -> list[Unit]:
    """The products a completion names, each made of ``unit`` in quarantine."""
    made = []
    for product in fields.products:
        kind = unit_type(product.type)
        made.append(new_product(unit, kind, product.volume_ml, product.cell_count, now))
        made[-1].parent = unit
    return made


def new_product(
    source: Unit, kind: UnitType, volume_ml: float, cell_count: int | None, at: datetime
) -> Unit:
    """A product of ``source`` in quarantine, expiring by the catalogue from ``at``."""
    return Unit(
        din=source.din,
        check_character=source.check_character,
        product_code=kind.product_code,
        division="00",
        unit_type=kind.key,
        patient_id=source.patient_id,
        status=Status.QUARANTINE.value,
        custodian_id=source.custodian_id,
        location_id=source.location_id,
        site_id=source.site_id,
        chain_of_identity=source.chain_of_identity,
        volume_ml=volume_ml,
        cell_count=cell_count,
        collection_site=source.collection_site,
        collected_at=source.collected_at,
        collected_by_id=source.collected_by_id,
        donor_testing=source.donor_testing,
        received_at=source.received_at,
        processing_started_at=source.processing_started_at,
        processed_at=at,
        expires_at=at + kind.shelf_life,
        deviation=source.deviation,
        exceptional_release=False,
    )


def _free_divisions(unit: Unit, count: int) -> list[str]:
    used = set(
        db.session.scalars(
            select(Unit.division).where(
                Unit.din == unit.din, Unit.product_code == unit.product_code
            )
        )
    )
    free = [f"{letter}0" for letter in ascii_uppercase if f"{letter}0" not in used]
    if len(free) < count:
        raise Conflict(
            f"only {len(free)} more aliquot divisions (A0–Z0) are free for this unit",
            code="divisions_exhausted",
        )
    return free[:count]


def split(unit: Unit, fields: SplitFields, now: datetime, actor: User) -> Outcome:
    """Aliquots carry the parent's identity, patient, status, expiry and release."""
    divisions = _free_divisions(unit, len(fields.aliquots))
    total = sum(a.volume_ml for a in fields.aliquots)
    outcome = Outcome()
    products = outcome.products
    for division, aliquot in zip(divisions, fields.aliquots, strict=True):
        share = aliquot.volume_ml / unit.volume_ml
        products.append(
            Unit(
                din=unit.din,
                check_character=unit.check_character,
                product_code=unit.product_code,
                division=division,
                unit_type=unit.unit_type,
                patient_id=unit.patient_id,
                parent=unit,
                status=unit.status,
                custodian_id=unit.custodian_id,
                location_id=None,
                site_id=unit.site_id,
                chain_of_identity=unit.chain_of_identity,
                volume_ml=aliquot.volume_ml,
                cell_count=round(unit.cell_count * share) if unit.cell_count else None,
                collection_site=unit.collection_site,
                collected_at=unit.collected_at,
                collected_by_id=unit.collected_by_id,
                donor_testing=unit.donor_testing,
                received_at=unit.received_at,
                processing_started_at=unit.processing_started_at,
                processed_at=unit.processed_at,
                expires_at=unit.expires_at,
                thawed_at=unit.thawed_at,
                released_at=unit.released_at,
                exceptional_release=unit.exceptional_release,
                qc_alert=unit.qc_alert,
                deviation=unit.deviation,
            )
        )
    remaining = round(unit.volume_ml - total, 2)
    if unit.cell_count:
        unit.cell_count = round(unit.cell_count * remaining / unit.volume_ml)
    unit.volume_ml = remaining
    outcome.recorded["remaining_volume_ml"] = remaining
    return outcome
