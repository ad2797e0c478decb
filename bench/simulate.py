"""Play a planned collection through the lifecycle, without the database.

Each step is checked and applied as ``lims.services.actions.units`` does it: the role and
the starting status from the lifecycle table, the recorded fields validated by the action's
pydantic model, its guards run at the step's own time, the service's effect and then the
same transition (``lims.services.actions.transition.apply_transition``) applied to a
transient ``Unit``. What comes out is the unit rows in their final state and the ledger
content of every step, ready to be chained. A plan the rules refuse is a bug in the plan,
and stops the seed (``PlanRefused``). ``tests/bench`` checks that entries written this way
look like the services' own.

Equipment and lots come from the bench's register (``bench.materials``), held in memory:
the start of processing and each step check them as ``services.materials.uses`` does (the
item's kind and calibration, the lot's acceptance, expiry, reagent and stock), record what
the services record, take the lot's stock, and leave a ``material_uses`` row per use.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect

from lims.domain import identifiers
from lims.domain.catalogue import CATALOGUE, products_of, unit_type
from lims.domain.lifecycle import (
    ACTIONS,
    Action,
    CompleteProcessingFields,
    Context,
    Fields,
    Status,
    StepFields,
)
from lims.domain.materials import lot_problem
from lims.domain.processing import protocol_for
from lims.domain.roles import Role
from lims.models import Unit
from lims.services.actions.processing import make_products
from lims.services.actions.transition import Outcome, apply_transition
from lims.services.actions.units import EFFECTS, receipt_facts
from lims.services.custody import ledger
from lims.services.custody.ledger import movement_of, position
from lims.services.materials.uses import Checked

from .materials import CABINET, Register, product_of, use_row
from .stories import CollectionPlan, PatientPlan

UNIT_COLUMNS = tuple((a.key, a.columns[0].name) for a in inspect(Unit).column_attrs)
PROCESSING_HOURS = {"ADIPOSE": 3.0, "MARROW": 2.0, "BLOOD": 0.75}
SOURCE_VOLUME_ML = {"ADIPOSE": (150, 350), "MARROW": (40, 80), "BLOOD": (40, 60)}
DEVIATION = 0.03  # share of receipts outside acceptance, accepted with a note
REJECT_REASONS = ("Container leaking at receipt", "Label does not match requisition")
DISCARD_REASONS = ("Clotted during processing", "Patient withdrew consent", "Equipment failure")


def _complete(unit: Unit, fields: CompleteProcessingFields, at: datetime) -> Outcome:
    """``processing.complete`` without its database checks: the plan recorded every step
    just before, and a collection makes each product type once."""
    unit.processed_at = at
    return Outcome(products=make_products(unit, fields, at))


class PlanRefused(RuntimeError):
    """The lifecycle refused a planned step: the plan, not the lab, is wrong."""


@dataclass(frozen=True)
class Actor:
    """The few facts of a user a ledger entry records (no ORM object, no lazy loads)."""

    id: int
    full_name: str
    role: str


@dataclass
class Event:
    """What one step wrote, at its time: new rows and the ledger content to chain."""

    at: datetime
    actor: Actor
    patient: PatientPlan | None = None  # written with the first registration seen
    units: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    # Rows that cite one of ``entries`` (``_entry``: its index): a lot with its acceptance,
    # each use of equipment or a lot with the entry that recorded it.
    lots: list[dict[str, Any]] = field(default_factory=list)
    uses: list[dict[str, Any]] = field(default_factory=list)


def unit_row(unit: Unit) -> dict[str, Any]:
    return {column: getattr(unit, key) for key, column in UNIT_COLUMNS}


def _check(action: Action, unit: Unit | None, data: dict, actor: Actor, at: datetime) -> Fields:
    role = Role(actor.role)
    if role not in action.roles or (unit is not None and not action.allows(unit.status, role)):
        raise PlanRefused(f"{actor.role} may not {action.name} a {getattr(unit, 'status', '')}")
    problems = [g(Context(unit, None, role, at)) for g in action.state_guards]
    fields = action.fields.model_validate(data)
    problems += [g(Context(unit, fields, role, at)) for g in action.guards]
    if any(problems):
        raise PlanRefused(f"{action.name} refused: {'; '.join(p for p in problems if p)}")
    return fields


class Simulator:
    """Turns planned collections into events; hands out unit ids from ``next_unit_id``."""

    def __init__(
        self,
        clinicians: list[Actor],
        technicians: list[Actor],
        rng: random.Random,
        next_id: int,
        register: Register,
        site_id: int | None = None,
    ) -> None:
        self.clinicians, self.technicians = clinicians, technicians
        self.site_id = site_id  # the site that collects and processes (decision 103)
        self.rng = rng
        self.next_id = next_id
        self.register = register

    def _take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def events(self, plan: CollectionPlan) -> list[Event]:
        rng = self.rng
        registrar = rng.choice(self.clinicians if rng.random() < 0.8 else self.technicians)
        at = plan.collected_at + timedelta(minutes=rng.uniform(5, 30))
        unit, first = self._register(plan, registrar, at)
        events = [first]
        for name in plan.actions:
            actor = registrar if name == "dispatch" else rng.choice(self.technicians)
            if name == "complete_processing":  # each step of the protocol on record first
                for step in self._steps(unit, at, actor):
                    self._pick_lot(step)
                    event, _ = self._act(unit, "record_step", step, actor, step["_at"])
                    events.append(event)
            at = self._when(name, plan, at)
            event, products = self._act(unit, name, self._fields(name, unit), actor, at)
            events.append(event)
            event.units.extend(unit_row(p) for p in products)
        first.units.insert(0, unit_row(unit))  # the source in its final state
        return events

    def _when(self, name: str, plan: CollectionPlan, previous: datetime) -> datetime:
        shelf = unit_type(plan.kind).shelf_life
        uniform = self.rng.uniform
        if name == "dispatch":
            return previous + shelf * uniform(0.05, 0.1)
        if name == "receive":
            return max(plan.collected_at + shelf * uniform(0.3, 0.55), previous) + timedelta(
                minutes=1
            )
        if name == "start_processing":
            return previous + shelf * uniform(0.05, 0.15)
        if name == "complete_processing":
            return previous + timedelta(hours=PROCESSING_HOURS[plan.kind] * uniform(0.8, 1.2))
        return previous + timedelta(minutes=uniform(10, 90))

    def _steps(self, unit: Unit, start: datetime, actor: Actor) -> list[dict[str, Any]]:
        """The protocol's steps, back to back after processing started, a few minutes each."""
        protocol = protocol_for(unit.unit_type)
        assert protocol is not None
        steps, at = [], start
        for step in protocol.steps:
            ended = at + timedelta(minutes=self.rng.uniform(3, 8))
            data: dict[str, Any] = {
                "step": step.key,
                "started_at": at.isoformat(),
                "ended_at": ended.isoformat(),
                "_at": ended,
                "_started": at,
            }
            if step.equipment:
                data["equipment"] = self.register.item(step.equipment).code
            if step.reagent:
                data.update(reagent=step.reagent, quantity=product_of(step.reagent)[3])
            steps.append(data)
            at = ended
        return steps

    def _pick_lot(self, step: dict[str, Any]) -> None:
        """The lot a step takes, when it is done: first expiry first out (``bench.materials``)."""
        if "reagent" in step:
            lot = self.register.pick_lot(step["reagent"], step["_started"], step["quantity"])
            step["lot"] = lot.code

    def _record_step(self, unit: Unit, fields: StepFields, at: datetime, actor: Actor):
        """``processing.record_step`` on the register in memory: the step's item and lot
        checked at its start, recorded as the services record them, the lot's stock taken."""
        protocol = protocol_for(unit.unit_type)
        assert protocol is not None
        step = protocol.step(fields.step)
        outcome = Outcome()
        recorded = outcome.recorded
        recorded["protocol"] = protocol.key
        recorded["step_name"] = step.name if step else fields.step
        recorded["operator"] = actor.full_name
        used_at = fields.started_at.astimezone(UTC)
        uses = []
        if fields.equipment:
            checked = self.register.check_item(step.equipment, used_at)
            if checked.equipment.code != fields.equipment:
                raise PlanRefused(f"{fields.equipment} is not the bench's {step.equipment}")
            recorded.update(checked.recorded())
            uses.append(use_row(unit.id, checked, "record_step", fields.step, at))
        if fields.lot:
            lot = next(p.lot for p in self.register.lots[step.reagent] if p.lot.code == fields.lot)
            problem = lot_problem(
                lot.state(), used_at.date(), reagent=step.reagent, quantity=fields.quantity
            )
            if problem:
                raise PlanRefused(f"{fields.step}: {problem}")
            checked = Checked(lot=lot, quantity=fields.quantity)
            recorded.update(checked.recorded())
            uses.append(use_row(unit.id, checked, "record_step", fields.step, at))
            self.register.take(lot, fields.quantity)
        recorded["started_at"] = used_at.isoformat()
        recorded["ended_at"] = fields.ended_at.astimezone(UTC).isoformat()
        return outcome, uses

    def _start_processing(self, unit: Unit, at: datetime):
        """``units._start_processing``: in the bench's biosafety cabinet, usable now."""
        checked = self.register.check_item(CABINET, at)
        unit.processing_started_at = at
        outcome = Outcome()
        outcome.recorded.update(checked.recorded())
        protocol = protocol_for(unit.unit_type)
        if protocol is not None:
            outcome.recorded["protocol_steps"] = [s.key for s in protocol.steps]
        return outcome, [use_row(unit.id, checked, "start_processing", None, at)]

    def _fields(self, name: str, unit: Unit) -> dict[str, Any]:
        rng, kind = self.rng, unit_type(unit.unit_type)
        if name == "dispatch":
            return {"courier": "Clinic courier", "transport_condition": f"{kind.storage} box"}
        if name == "receive":
            low, high = kind.storage.low_c, kind.storage.high_c
            data = {
                "temperature_c": round(rng.uniform(low + 1, high - 1), 1),
                "container_intact": True,
                "label_matches": True,
                "volume_ml": round(unit.volume_ml * rng.uniform(0.97, 1.0), 1),
            }
            if rng.random() < DEVIATION:
                data["temperature_c"] = round(high + rng.uniform(1, 4), 1)
                data["deviation_note"] = "Cool pack exhausted; accepted after review"
            return data
        if name == "start_processing":
            return {
                "protocol": f"{products_of(kind.key)[0]} isolation",
                "equipment": self.register.item(CABINET).code,
            }
        if name == "complete_processing":
            product = products_of(kind.key)[0]
            return {
                "products": [
                    {
                        "type": product,
                        "volume_ml": round(rng.uniform(4, 15), 1),
                        "cell_count": rng.randrange(20_000_000, 400_000_000),
                    }
                ]
            }
        reasons = REJECT_REASONS if name == "reject" else DISCARD_REASONS
        return {"reason": rng.choice(reasons)}

    def _register(self, plan: CollectionPlan, actor: Actor, at: datetime) -> tuple[Unit, Event]:
        """As ``units.register``: a new source unit in ``collected``, held by the registrar."""
        kind = CATALOGUE[plan.kind]
        patient = plan.patient
        data = {
            "patient": {
                "mrn": patient.mrn,
                "name": patient.name,
                "birth_date": patient.birth_date.isoformat(),
            },
            "type": kind.key,
            "collection_site": self.rng.choice(kind.collection_sites),
            "volume_ml": round(self.rng.uniform(*SOURCE_VOLUME_ML[kind.key]), 1),
            "collected_at": plan.collected_at.isoformat(),
        }
        fields = _check(ACTIONS["register"], None, data, actor, at)
        collected_at = fields.collected_at.astimezone(UTC)
        started, patient.course_started = not patient.course_started, True
        unit = Unit(
            id=self._take_id(),
            din=plan.din,
            check_character=identifiers.check_character(plan.din),
            product_code=kind.product_code,
            division="00",
            unit_type=kind.key,
            patient_id=patient.id,
            status=Status.COLLECTED.value,
            custodian_id=actor.id,
            location_id=None,
            site_id=self.site_id,
            chain_of_identity=patient.course_code,
            volume_ml=fields.volume_ml,
            collection_site=fields.collection_site.lower(),
            collected_at=collected_at,
            collected_by_id=actor.id,
            expires_at=collected_at + kind.shelf_life,
            deviation=False,
            exceptional_release=False,
            created_at=at,
            updated_at=at,
            version=1,
        )
        recorded = {
            **fields.model_dump(mode="json", exclude={"course"}),
            "patient_id": patient.id,
            "chain_of_identity": patient.course_code,
            "course_started": started,
        }
        entry = ledger.entry_values(
            unit=unit,
            action="register",
            actor=actor,
            movement=movement_of(unit),
            data=recorded,
            at=at,
        )
        return unit, Event(at, actor, patient=patient, entries=[entry])

    def _act(
        self, unit: Unit, name: str, data: dict, actor: Actor, at: datetime
    ) -> tuple[Event, list[Unit]]:
        """As ``units.perform_action``, on a transient unit."""
        action = ACTIONS[name]
        data = {k: v for k, v in data.items() if not k.startswith("_")}
        fields = _check(action, unit, data, actor, at)
        before = position(unit)
        uses: list[dict[str, Any]] = []
        if name == "record_step":
            outcome, uses = self._record_step(unit, fields, at, actor)  # type: ignore[arg-type]
        elif name == "start_processing":
            outcome, uses = self._start_processing(unit, at)
        elif name == "complete_processing":
            assert isinstance(fields, CompleteProcessingFields)
            outcome = _complete(unit, fields, at)
        elif name == "receive":  # the unit's facts only: the seed writes no deviation rows
            outcome = receipt_facts(unit, fields, at)  # type: ignore[arg-type]
        elif name in EFFECTS:
            outcome = EFFECTS[name](unit, fields, at, actor)
        else:
            outcome = Outcome()
        done = apply_transition(unit, action, fields, outcome, actor, at, before)
        unit.version += 1
        products = outcome.products
        for product in products:
            product.id, product.parent_id = self._take_id(), unit.id
            product.created_at = product.updated_at = at
            product.version = 1
        entries = [
            ledger.entry_values(
                unit=d.unit,
                action=d.action,
                actor=actor,
                movement=d.movement,
                data=d.data,
                reason=d.reason,
                at=at,
            )
            for d in done.entries()
        ]
        return Event(at, actor, entries=entries, uses=uses), products
