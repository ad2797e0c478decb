"""A year of treatment courses for the demo (decision 114): twelve patients' plans, their
products collected, processed, tested, released and given, and the outcome visits at baseline,
3, 6 and 12 months, all through the services at their own past moments (``clock_at``), so the
outcomes page has something to show and the ledger records every step when it happened.

The outcomes vary with the dose given (and a little with viability), plus noise, so that the
groups differ; the numbers are invented for the demo and say nothing about real treatment.

The lab's equipment and reagent lots of the demo (``seed_materials``) start 70 days back; a
year ago the lab worked with a first register, made here: its items are decommissioned and its
lots used up before the new register starts. ``first_year`` plays everything up to then and
returns the rest of each course (the visits since), which ``seed_history`` plays in time order
with its own eight weeks; ``finish`` sends the reminders beat would have sent by now (a visit
due, one overdue).
"""

from __future__ import annotations

import heapq
import io
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from .domain import treatment as rules
from .domain.processing import protocol_for
from .domain.qc import DEFAULT_SPECS
from .models import OutcomeAssessment, Unit, User
from .models.types import clock_at
from .services.actions import treatment, units
from .services.clinic import outcomes
from .services.materials import equipment, reagents

D = timedelta(days=1)
H = timedelta(hours=1)
M = timedelta(minutes=1)
# The first register goes out of use here (the demo's own starts at 70 days back).
REGISTER_ENDS = 71 * D
QUANTITY = 10.0  # of a lot, per step that uses it

# (name, kind, model, calibration or qualification)
FIRST_ITEMS = (
    ("Biosafety cabinet BSC-0", "biosafety_cabinet", "Thermo Herasafe KS 12", "qualification"),
    ("Centrifuge C-00", "centrifuge", "Eppendorf 5804 R", "calibration"),
    ("CO2 incubator I-00", "incubator", "Binder CB 160", "qualification"),
    ("NucleoCounter NC-200", "cell_counter", "ChemoMetec NC-200", "calibration"),
    ("Endotoxin reader EN-0", "endotoxin_reader", "Charles River Endosafe PTS", "calibration"),
)
INSTRUMENT = {
    "viable_cell_count": "cell_counter",
    "viability": "cell_counter",
    "platelet_count": "cell_counter",
    "endotoxin": "endotoxin_reader",
}
SOURCE = {"SVF": "ADIPOSE", "BM-MNC": "MARROW", "PRP": "BLOOD"}
SITE = {"ADIPOSE": "abdomen", "MARROW": "posterior iliac crest", "BLOOD": "antecubital vein"}
VOLUME = {"ADIPOSE": 250, "MARROW": 60, "BLOOD": 54}
RECEIPT_C = {"ADIPOSE": 4.5, "MARROW": 20.0, "BLOOD": 21.0}
TESTING = {"ADIPOSE": "performed", "MARROW": "performed", "BLOOD": "not_performed"}
PRODUCT_ML = {"SVF": 12, "BM-MNC": 10, "PRP": 6}
GIVEN_ML = 4.0
# How long before the injection the session's collection is taken (PRP keeps 4 hours).
LEAD = {"SVF": 9 * H, "BM-MNC": 9 * H, "PRP": 3 * H}
SKIPPED_STEPS = ("red_cell_lysis",)
# Two more patients than the demo's others, treated only here.
OWN_PATIENTS = (
    ("MRN-100107", "Clara Dubois", "1985-09-03"),
    ("MRN-100108", "Mateo García", "1977-06-19"),
)


@dataclass(frozen=True)
class CourseSpec:
    """One course: the patient (index into the patients given), what they were given and
    when (days before now), and what the lab measured on it."""

    patient: int
    product: str
    days_ago: int
    dose: float  # SVF/BM-MNC: million viable cells given; PRP: platelet count ×10³/µL
    viability: float = 88.0
    digestion_min: int = 45
    scale: tuple[str, str] | None = None  # (scale, stage)
    indication: str = "androgenetic_alopecia"
    month_12: str = "done"  # done, due, overdue, upcoming


COURSES = (
    CourseSpec(0, "SVF", 400, 22, 91.5, 65, ("ludwig", "II")),  # Maria Keller: photographs
    CourseSpec(1, "BM-MNC", 392, 12, 84.0, scale=("norwood_hamilton", "IV")),
    CourseSpec(3, "SVF", 386, 3, 76.5, 35, ("norwood_hamilton", "III"), month_12="overdue"),
    CourseSpec(4, "PRP", 380, 1450, scale=("ludwig", "I")),
    CourseSpec(5, "SVF", 368, 35, 93.0, 58, ("norwood_hamilton", "V"), month_12="due"),
    CourseSpec(6, "SVF", 355, 8, 82.5, 42, ("savin", "I-3"), month_12="upcoming"),
    CourseSpec(7, "BM-MNC", 340, 26, 89.0, scale=("norwood_hamilton", "IV"), month_12="upcoming"),
    CourseSpec(2, "PRP", 330, 1050, indication="telogen_effluvium", month_12="upcoming"),
    CourseSpec(8, "SVF", 318, 48, 90.5, 72, ("ludwig", "II"), month_12="upcoming"),
    CourseSpec(9, "BM-MNC", 305, 4, 78.0, scale=("norwood_hamilton", "III"), month_12="upcoming"),
    CourseSpec(10, "PRP", 292, 1900, scale=("savin", "II-1"), month_12="upcoming"),
    CourseSpec(11, "SVF", 280, 14, 86.0, 50, ("norwood_hamilton", "IV"), month_12="upcoming"),
)
PHOTOGRAPHED = 0  # the course whose every visit has a photograph
# (course, visit, why): values corrected two days after the visit
CORRECTIONS = (
    (
        1,
        "month_3",
        "hair count re-read from the phototrichogram: two frames had been counted twice",
    ),
    (4, "baseline", "target area was 0.8 cm², not 1 cm² (the tattoo template of the clinic)"),
)


@dataclass
class FirstRegister:
    equipment: dict[str, str]
    lots: dict[str, str]
    items: list[int]


def patients(demo: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [*demo, *OWN_PATIENTS]


# ---------------------------------------------------------------------------- the register


def _uses() -> Counter:
    """How many steps take each reagent, over every processing the courses need: the first
    register's lots hold exactly that, so each is used up by its last step."""
    counted: Counter = Counter()
    for spec in COURSES:
        protocol = protocol_for(SOURCE[spec.product])
        sessions = 2 if spec.product == "PRP" else 1
        for step in protocol.steps:
            if step.reagent and step.key not in SKIPPED_STEPS:
                counted[step.reagent] += sessions
    return counted


def _first_register(tech: User, qa: User, password: str, now: datetime) -> FirstRegister:
    start = now - max(c.days_ago for c in COURSES) * D - 30 * D
    register = FirstRegister({}, {}, [])
    valid_until = (now - REGISTER_ENDS).date().isoformat()
    for index, (name, kind, model, record) in enumerate(FIRST_ITEMS):
        with clock_at(start + index * M):
            item = equipment.register_equipment(
                {
                    "name": name,
                    "kind": kind,
                    "model": model,
                    "calibration_interval_days": 365,
                    "maintenance_interval_days": 365,
                },
                qa,
            )
        with clock_at(start + 3 * H + index * M):
            equipment.record(
                item.id,
                {
                    "kind": record,
                    "performed_on": (start + 3 * H).date().isoformat(),
                    "performed_by": "Calibra Service GmbH",
                    "certificate_ref": f"CAL-{start.year}-{item.code[-4:]}",
                    "valid_until": valid_until,
                },
                tech,
            )
        register.equipment[kind] = item.code
        register.items.append(item.id)
    received = start + 6 * H
    for index, (reagent, uses) in enumerate(sorted(_uses().items())):
        with clock_at(received + index * M):
            lot = reagents.receive_lot(
                tech,
                reagent=reagent,
                product_name=reagent.capitalize(),
                manufacturer="Lab supplier",
                lot_number=f"LS{25010 + index}",
                expires_on=(now - 40 * D).date(),
                storage="at or below -20 °C" if reagent == "collagenase" else "2–8 °C",
                quantity=uses * QUANTITY,
                quantity_unit="mg" if reagent == "collagenase" else "mL",
                coa_ref=f"CoA-LS-{25010 + index}",
            )
        with clock_at(received + 2 * H + index * M):
            reagents.accept_lot(lot.id, qa, password)
        register.lots[reagent] = lot.code
    return register


def _decommission(register: FirstRegister, tech: User, moment: datetime) -> None:
    with clock_at(moment):
        for item_id in register.items:
            equipment.set_status(
                item_id,
                {
                    "status": "out_of_service",
                    "reason": "decommissioned: replaced by the new register",
                },
                tech,
            )


# ---------------------------------------------------------------------------- the courses


def _response(spec: CourseSpec, rng: random.Random) -> float:
    """The invented change in density (hairs/cm²) at 6 months: grows with the dose given (log),
    a little with viability, plus noise."""
    if spec.product == "PRP":
        platelets = spec.dose * 1e6 * GIVEN_ML * 2 / 1e9  # ×10⁹ over the two sessions
        return 2 + 1.1 * platelets + rng.uniform(-3, 3)
    return 4 + 7 * math.log(spec.dose / 2) + 0.3 * (spec.viability - 85) + rng.uniform(-3, 3)


def _photo(density: float, seed: int) -> bytes:
    """A small PNG standing in for a vertex photograph: dots as dense as the hair counted."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (160, 120), (222, 189, 160))
    draw = ImageDraw.Draw(image)
    for _ in range(int(density * 2)):
        x, y = rng.randrange(160), rng.randrange(120)
        draw.line((x, y, x + rng.choice((-2, -1, 1, 2)), y + 4), fill=(52, 38, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


class Courses:
    def __init__(
        self,
        tech: User,
        doctor: User,
        qa: User,
        password: str,
        people: list[tuple[str, str, str]],
        register: FirstRegister,
        now: datetime,
    ) -> None:
        self.tech, self.doctor, self.qa, self.password = tech, doctor, qa, password
        self.people, self.register, self.now = people, register, now
        self.rng = random.Random(18)

    def act(self, unit: Unit, action: str, data: dict, user: User | None = None) -> Any:
        return units.perform_action(unit.id, action, data, user or self.tech)

    def _steps(self, source: str, began: datetime, digestion: int) -> list[dict]:
        protocol = protocol_for(source)
        steps, t = [], began
        for step in protocol.steps:
            if step.key in SKIPPED_STEPS:
                continue
            took = digestion * M if step.key == "collagenase_digestion" else 12 * M
            data: dict[str, Any] = {
                "step": step.key,
                "started_at": t.isoformat(),
                "ended_at": (t + took).isoformat(),
            }
            if step.equipment:
                data["equipment"] = self.register.equipment[step.equipment]
            if step.reagent:
                data.update(lot=self.register.lots[step.reagent], quantity=QUANTITY)
            steps.append(data)
            t += took + 3 * M
        return steps

    def _qc(self, spec: CourseSpec, product: str) -> dict[str, Any]:
        values = {
            "viable_cell_count": round(spec.dose * 1e6 * PRODUCT_ML[product] / GIVEN_ML),
            "viability": spec.viability,
            "gram_stain": "no organisms seen",
            "sterility": "pending",
            "endotoxin": round(self.rng.uniform(0.05, 0.3), 2),
            "platelet_count": spec.dose,
        }
        return {
            test: values[test]
            for (kind, test), found in DEFAULT_SPECS.items()
            if kind == product and found.required
        }

    def collect(self, spec: CourseSpec, course: str, at: datetime) -> Unit:
        source = SOURCE[spec.product]
        mrn, name, birth = self.people[spec.patient]
        return units.register(
            {
                "patient": {"mrn": mrn, "name": name, "birth_date": birth},
                "type": source,
                "collection_site": SITE[source],
                "volume_ml": VOLUME[source],
                "collected_at": at.isoformat(),
                "donor_testing": TESTING[source],
                "course": course,
            },
            self.doctor,
        ).unit

    def session(self, spec: CourseSpec, course: str, given_at: datetime) -> Iterator[datetime]:
        """A later session's product: collected that morning, then as ``give``."""
        yield given_at - LEAD[spec.product]
        unit = self.collect(spec, course, given_at - LEAD[spec.product])
        yield from self.give(spec, unit, given_at)

    def give(self, spec: CourseSpec, unit: Unit, given_at: datetime) -> Iterator[datetime]:
        """The collection received, processed, tested, released, dispensed and given at
        ``given_at``."""
        source = SOURCE[spec.product]
        t = given_at - LEAD[spec.product] + 20 * M
        yield t
        self.act(
            unit,
            "receive",
            {
                "temperature_c": RECEIPT_C[source],
                "container_intact": True,
                "label_matches": True,
                "volume_ml": VOLUME[source],
            },
        )
        t += 20 * M
        yield t
        self.act(
            unit,
            "start_processing",
            {"protocol": "standard", "equipment": self.register.equipment["biosafety_cabinet"]},
        )
        steps = self._steps(source, t + 2 * M, spec.digestion_min)
        t = datetime.fromisoformat(steps[-1]["ended_at"]) + 5 * M
        yield t
        made: dict[str, Any] = {"type": spec.product, "volume_ml": PRODUCT_ML[spec.product]}
        if spec.product != "PRP":
            made["cell_count"] = round(spec.dose * 1e6 * PRODUCT_ML[spec.product] / GIVEN_ML)
        (product,) = self.act(
            unit, "complete_processing", {"products": [made], "steps": steps}
        ).products
        for test, value in self._qc(spec, spec.product).items():
            t += 6 * M
            yield t
            data = {"test": test, "value": value, "method": "SOP-QC", "lot": f"QC-{t:%y%m}"}
            if test in INSTRUMENT:
                data["equipment"] = self.register.equipment[INSTRUMENT[test]]
            self.act(product, "record_qc", data)
        t += 20 * M
        yield t
        self.act(
            product,
            "release",
            {"password": self.password, "meaning": "approved for release"},
            self.qa,
        )
        yield max(t + 10 * M, given_at - 20 * M)
        self.act(product, "dispense", {"clinician": self.doctor.username})
        yield given_at
        self.act(
            product,
            "administer",
            {
                "wristband": product.patient.wristband,
                "site": "vertex",
                "method": "micro-injection",
                "volume_ml": GIVEN_ML,
            },
            self.doctor,
        )

    def course(self, index: int, spec: CourseSpec) -> Iterator[datetime]:
        """The whole course: the first collection starts it, the plan and baseline follow,
        the sessions are given, and each visit of the schedule is recorded when it comes
        (a correction two days after the visit it corrects)."""
        rng = random.Random(100 + index)
        given = (self.now - spec.days_ago * D).replace(hour=14, minute=0, second=0, microsecond=0)
        sessions = [("initial", given)]
        if spec.product == "PRP":
            sessions.append(("series", given + 28 * D))
        collected = given - LEAD[spec.product]
        yield collected
        first = self.collect(spec, "new", collected)
        course = first.chain_of_identity
        yield collected + 5 * M
        scale, stage = spec.scale or (None, None)
        plan = treatment.create_plan(
            first.patient_id,
            {
                "course": course,
                "indication": spec.indication,
                "stage_scale": scale,
                "stage": stage,
                "maintenance_months": 12 if spec.product != "PRP" else 6,
                "sessions": [
                    {"kind": kind, "product_type": spec.product, "planned_at": at.isoformat()}
                    for kind, at in sessions
                ],
            },
            self.doctor,
        )
        yield collected + 10 * M
        baseline = rng.uniform(95, 150)
        area = 0.8 if index % 3 == 1 else 1.0
        # The course whose baseline area is corrected: recorded first as 1 cm² by mistake.
        mistaken = any(c == index and "area" in why for c, _, why in CORRECTIONS)
        row = self._assess(plan.id, "baseline", baseline, area, 0, rng, recorded_area=mistaken)
        if index == PHOTOGRAPHED:
            self._photograph(row, baseline, index)
        yield from self.give(spec, first, given)
        for _kind, at in sessions[1:]:
            yield from self.session(spec, course, at)
        yield from self._corrected(index, row, sessions[-1][1] + H)
        response = _response(spec, self.rng)
        trajectory = {"month_3": 0.55, "month_6": 1.0, "month_12": 0.85}
        for visit in outcomes.schedule():
            if visit.months == 0:
                continue
            if visit.key == "month_12" and spec.month_12 != "done":
                continue
            due = rules.add_months(given.date(), visit.months)
            moment = datetime.combine(due, given.time(), given.tzinfo) - 4 * H
            moment += rng.randint(-3, 5) * D
            yield self._clear_of_the_register_change(moment)
            change = response * trajectory.get(visit.key, 1.0) + rng.uniform(-2, 2)
            row = self._assess(plan.id, visit.key, baseline + change, area, change, rng)
            if index == PHOTOGRAPHED:
                self._photograph(row, baseline + change, index + visit.months)
            yield from self._corrected(index, row, row.assessed_at)

    def _corrected(self, index: int, row: OutcomeAssessment, after: datetime) -> Iterator[datetime]:
        for course_index, visit_key, reason in CORRECTIONS:
            if course_index == index and visit_key == row.visit:
                yield max(row.assessed_at + 2 * D, after)
                self._correct(row, reason)

    def _clear_of_the_register_change(self, moment: datetime) -> datetime:
        """Nothing of a course between the first register's end and the new one's start."""
        start, end = self.now - REGISTER_ENDS - D, self.now - 70 * D + D
        return end if start <= moment < end else moment

    def _assess(
        self,
        plan_id: int,
        visit: str,
        density: float,
        area: float,
        change: float,
        rng: random.Random,
        *,
        recorded_area: bool = False,
    ) -> OutcomeAssessment:
        data: dict[str, Any] = {
            "visit": visit,
            "hair_count": round(density * area),
            "area_cm2": 1.0 if recorded_area else area,
            "terminal_vellus_ratio": round(1.4 + change / 40 + rng.uniform(-0.1, 0.1), 2),
            "shaft_diameter_um": round(58 + change / 5 + rng.uniform(-2, 2), 1),
        }
        if visit != "baseline":
            score = 2 if change > 15 else 1 if change > 6 else 0
            data.update(
                investigator_global=score,
                patient_global=max(-1, score - rng.choice((0, 0, 1))),
                satisfaction=min(5, 3 + score - rng.choice((0, 1))) if score else 3,
            )
        return outcomes.record(plan_id, data, self.doctor)

    def _correct(self, row: OutcomeAssessment, reason: str) -> None:
        data: dict[str, Any] = {
            name: getattr(row, name)
            for name in (
                "terminal_vellus_ratio",
                "shaft_diameter_um",
                "investigator_global",
                "patient_global",
                "satisfaction",
            )
            if getattr(row, name) is not None
        }
        if "area" in reason:
            data.update(hair_count=row.hair_count, area_cm2=0.8)  # the count stands
        else:
            data.update(hair_count=max(0, row.hair_count - 4), area_cm2=row.area_cm2)
        outcomes.correct(row.id, {**data, "reason": reason}, self.doctor)

    def _photograph(self, row: OutcomeAssessment, density: float, seed: int) -> None:
        outcomes.add_photo(row.id, "vertex", _photo(density, seed), "image/png", self.doctor)


# ---------------------------------------------------------------------------- playing


def _resumed(moment: datetime, story: Iterator[datetime]) -> Iterator[datetime]:
    """A story paused at ``moment`` (its step not yet taken), to be played on elsewhere."""
    yield moment
    yield from story


def _play_until(stories: list[Iterator[datetime]], until: datetime) -> list[Iterator[datetime]]:
    """Take the stories' steps in time order up to ``until``; the rest, paused, returned."""
    heap: list[tuple[datetime, int, Iterator[datetime]]] = []
    for index, story in enumerate(stories):
        first = next(story, None)
        if first is not None:
            heapq.heappush(heap, (first, index, story))
    while heap and heap[0][0] < until:
        moment, index, story = heapq.heappop(heap)
        with clock_at(moment):
            upcoming = next(story, None)
        if upcoming is not None:
            if upcoming < moment:
                raise RuntimeError(f"course {index} went back in time: {upcoming} < {moment}")
            heapq.heappush(heap, (upcoming, index, story))
    return [_resumed(moment, story) for moment, _, story in sorted(heap)]


def first_year(
    tech: User,
    doctor: User,
    qa: User,
    password: str,
    now: datetime,
    demo_patients: list[tuple[str, str, str]],
) -> list[Iterator[datetime]]:
    """Play the courses up to the first register's end; return what is left of them."""
    config = current_app.config
    inline = config.get("NOTIFY_INLINE", True)
    config["NOTIFY_INLINE"] = False  # relayed with seed_history's, at its end
    try:
        register = _first_register(tech, qa, password, now)
        courses = Courses(tech, doctor, qa, password, patients(demo_patients), register, now)
        stories = [courses.course(i, spec) for i, spec in enumerate(COURSES)]
        later = _play_until(stories, now - REGISTER_ENDS)
        _decommission(register, tech, now - REGISTER_ENDS + H)
    finally:
        config["NOTIFY_INLINE"] = inline
    return later


def finish() -> int:
    """What beat would have sent by now: a 12-month visit due, another overdue."""
    return outcomes.remind()
