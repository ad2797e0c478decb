"""Eight weeks of past lab work for the demo: collections of every type taken from
collection to injection through the services, each step at its own past moment
(``models.types.clock_at``), so the readiness board's estimates and the audit charts show
real figures and the ledger stays one valid, chronological chain.

Each collection is a story: a generator that yields the moment of its next step and takes
that step when resumed. The stories are interleaved in time order (a heap), so ledger
entries are appended in the order their moments came, as in a real lab.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from . import dispatch
from .domain.processing import batch_record
from .domain.qc import DEFAULT_SPECS
from .models import Unit, User
from .models.types import clock_at
from .notify.relay import relay_and_deliver
from .services import inbox
from .services.actions import units

H = timedelta(hours=1)
D = timedelta(days=1)

# (source, product, how many, hours of transit, waiting, processing, QC and release)
FRESH = (
    ("ADIPOSE", "SVF", 6, (1, 4), (0.5, 3), (2.5, 4), (3, 8)),
    ("MARROW", "BM-MNC", 5, (2, 20), (1, 6), (2, 3.5), (4, 10)),
    ("BLOOD", "PRP", 6, (0.3, 1.2), (0.1, 0.5), (0.6, 1), (0.5, 1.2)),
)
# cultured: (source, first product, MSC type, how many). The cultured SVF or BM-MNC is left
# out of the stage figures (``services.turnaround``); its MSC product carries the culture.
CULTURED: tuple[tuple[str, str, str, int], ...] = (
    ("ADIPOSE", "SVF", "MSC(AT)", 3),
    ("MARROW", "BM-MNC", "MSC(M)", 2),
)
SITES = {"ADIPOSE": "abdomen", "MARROW": "posterior iliac crest", "BLOOD": "antecubital vein"}
VOLUMES = {"ADIPOSE": 250, "MARROW": 60, "BLOOD": 54}
RECEIPT_C = {"ADIPOSE": 4.5, "MARROW": 20.0, "BLOOD": 21.0}
# Collections for cell products are tested; blood for point-of-care PRP is not (its labels say
# NOT EVALUATED FOR INFECTIOUS SUBSTANCES).
DONOR_TESTING = {"ADIPOSE": "performed", "MARROW": "performed", "BLOOD": "not_performed"}
PRODUCT_ML = {"SVF": 12, "BM-MNC": 10, "PRP": 6, "MSC(AT)": 6, "MSC(M)": 6}
HISTORY_PATIENTS = (
    ("MRN-100101", "Elena Petrova", "1982-05-09"),
    ("MRN-100102", "Lukas Brandt", "1975-08-23"),
    ("MRN-100103", "Sofia Marino", "1988-12-01"),
    ("MRN-100104", "Henrik Larsen", "1969-04-17"),
    ("MRN-100105", "Nadia Haddad", "1993-02-28"),
    ("MRN-100106", "Pavel Novak", "1980-10-14"),
)


@dataclass
class Staff:
    tech: User
    doctor: User
    qa: User
    password: str


def _hours(rng: random.Random, span: tuple[float, float]) -> timedelta:
    return rng.uniform(*span) * H


def _qc_values(rng: random.Random, product_type: str, final_sterility: bool) -> dict[str, Any]:
    """A passing result of every required test, varied as real results vary."""
    values = {
        "viable_cell_count": rng.randint(40, 900) * 100_000,
        "viability": round(rng.uniform(76, 96), 1),
        "gram_stain": "no organisms seen",
        "sterility": "no growth" if final_sterility else "pending",
        "endotoxin": round(rng.uniform(0.04, 0.35), 2),
        "mycoplasma": "negative",
        "platelet_count": rng.randint(1050, 1900),
        **{m: round(rng.uniform(95.5, 99.6), 1) for m in ("cd73", "cd90", "cd105")},
        **{m: round(rng.uniform(0.1, 1.8), 1) for m in ("cd45", "cd34", "cd14", "cd19", "hla_dr")},
    }
    return {
        test: values[test]
        for (kind, test), spec in DEFAULT_SPECS.items()
        if kind == product_type and spec.required
    }


# The instrument each measured test is read on (the register's kind of equipment).
INSTRUMENT_OF = {
    "viable_cell_count": "cell_counter",
    "viability": "cell_counter",
    "platelet_count": "cell_counter",
    "endotoxin": "endotoxin_reader",
    **dict.fromkeys(
        ("cd73", "cd90", "cd105", "cd45", "cd34", "cd14", "cd19", "hla_dr"), "flow_cytometer"
    ),
}


class History:
    def __init__(self, staff: Staff, rng: random.Random, materials: Any) -> None:
        """``materials``: the demo register (``seed_materials.DemoRegister``): equipment codes
        by kind, ``lots_on(moment)`` the lot of each reagent in use then."""
        self.staff = staff
        self.rng = rng
        self.materials = materials

    def act(self, unit, action: str, data: dict, user: User | None = None):
        return units.perform_action(unit.id, action, data, user or self.staff.tech)

    def register(self, patient: tuple[str, str, str], kind: str, collected: datetime):
        mrn, name, birth = patient
        data = {
            "patient": {"mrn": mrn, "name": name, "birth_date": birth},
            "type": kind,
            "collection_site": SITES[kind],
            "volume_ml": VOLUMES[kind],
            "collected_at": collected.isoformat(),
            "donor_testing": DONOR_TESTING[kind],
        }
        return units.register(data, self.staff.doctor).unit

    def _receipt(self, kind: str) -> dict:
        return {
            "temperature_c": RECEIPT_C[kind],
            "container_intact": True,
            "label_matches": True,
            "volume_ml": VOLUMES[kind],
        }

    def _process(self, unit, kind: str, product: str, t: datetime, span) -> Iterator[datetime]:
        """Processing from its start at ``t``: yields moments; leaves the product in
        ``self.made``."""
        register = self.materials
        self.act(
            unit,
            "start_processing",
            {"protocol": "standard", "equipment": register.equipment["biosafety_cabinet"]},
        )
        began = t
        t += span
        yield t
        made = {"type": product, "volume_ml": PRODUCT_ML[product]}
        made["cell_count"] = self.rng.randint(20, 200) * 1_000_000 if product != "PRP" else None
        made = {k: v for k, v in made.items() if v is not None}
        steps = batch_record(
            kind,
            began + timedelta(minutes=2),
            t - timedelta(minutes=2),
            equipment=register.equipment,
            lots=register.lots_on(began),
            quantity=float(self.rng.choice((5, 10, 20))),
        )
        self.made = self.act(
            unit, "complete_processing", {"products": [made], "steps": steps}
        ).products[0]

    def _qc_and_release(
        self, product, t: datetime, span: timedelta, final: bool
    ) -> Iterator[datetime]:
        values = _qc_values(self.rng, product.unit_type, final)
        gap = span * 0.8 / max(len(values), 1)
        for test, value in values.items():
            t += gap
            yield t
            self.act(
                product,
                "record_qc",
                {
                    "test": test,
                    "value": value,
                    "method": "SOP-QC",
                    "lot": f"QC-{t:%y%m}",
                    **(
                        {"equipment": self.materials.equipment[INSTRUMENT_OF[test]]}
                        if test in INSTRUMENT_OF
                        else {}
                    ),
                },
            )
        t += span * 0.2
        yield t
        self.act(
            product,
            "release",
            {"password": self.staff.password, "meaning": "approved for release"},
            self.staff.qa,
        )

    def _inject(self, product, patient, t: datetime, thaw: bool) -> Iterator[datetime]:
        if thaw:
            t += self.rng.uniform(1, 3) * D
            yield t
            self.act(product, "thaw", {})
        t += self.rng.uniform(0.2, 0.5) * H
        yield t
        self.act(product, "dispense", {"clinician": self.staff.doctor.username})
        t += self.rng.uniform(0.2, 0.5) * H
        yield t
        wristband = product.patient.wristband
        self.act(
            product,
            "administer",
            {"wristband": wristband, "site": "vertex", "method": "micro-injection", "volume_ml": 4},
            self.staff.doctor,
        )

    def _to_release(
        self, patient, kind: str, product_type: str, start: datetime, spans
    ) -> Generator[datetime, None, tuple[Unit, datetime]]:
        """Collected at ``start``, received, processed and released with fresh-product QC:
        the product, and when its release was done."""
        transit, waiting, processing, release = (_hours(self.rng, s) for s in spans)
        t = start + timedelta(minutes=10)
        yield t
        unit = self.register(patient, kind, start)
        t += transit
        yield t
        self.act(unit, "receive", self._receipt(kind))
        t += waiting
        yield t
        yield from self._process(unit, kind, product_type, t, processing)
        t += processing
        product = self.made
        yield from self._qc_and_release(product, t, release, final=False)
        return product, t + release

    def fresh(
        self, patient, kind: str, product_type: str, start: datetime, spans
    ) -> Iterator[datetime]:
        """Collected at ``start``, processed, released and injected the same day or so."""
        product, t = yield from self._to_release(patient, kind, product_type, start, spans)
        yield from self._inject(product, patient, t, thaw=False)

    def cultured(
        self, patient, kind: str, first: str, msc: str, start: datetime
    ) -> Iterator[datetime]:
        """A fresh product released, expanded in culture for two to three weeks, tested in
        full (sterility final), released, thawed and injected."""
        spans = next(f[3:] for f in FRESH if f[0] == kind)
        fresh, t = yield from self._to_release(patient, kind, first, start, spans)
        t += self.rng.uniform(1, 4) * H
        yield t
        yield from self._process(fresh, first, msc, t, self.rng.uniform(14, 21) * D)
        t = self.made.processed_at
        product = self.made
        qc_span = self.rng.uniform(5, 9) * D
        yield from self._qc_and_release(product, t, qc_span, final=True)
        t += qc_span
        yield from self._inject(product, patient, t, thaw=True)


def play(stories: list[Iterator[datetime]]) -> int:
    """Take every story's steps in time order, each at its own moment; returns the steps."""
    heap: list[tuple[datetime, int, Iterator[datetime]]] = []
    for index, story in enumerate(stories):
        first = next(story, None)
        if first is not None:
            heapq.heappush(heap, (first, index, story))
    steps = 0
    while heap:
        moment, index, story = heapq.heappop(heap)
        with clock_at(moment):
            upcoming = next(story, None)
        steps += 1
        if upcoming is not None:
            if upcoming < moment:
                raise RuntimeError(f"story {index} went back in time: {upcoming} < {moment}")
            heapq.heappush(heap, (upcoming, index, story))
    return steps


def seed_history(
    staff: Staff,
    now: datetime,
    patients,
    materials: Any,
    seed: int = 6,
    extra: Sequence[Iterator[datetime]] = (),
) -> int:
    """Play about eight weeks of collections, every one ended a day or more before ``now``,
    on the demo register's equipment and lots (``materials``); ``extra`` stories (the
    treatment courses' later visits, ``seed_treatment``) are played in the same time order."""
    rng = random.Random(seed)
    history = History(staff, rng, materials)
    stories: list[Iterator[datetime]] = []
    people = list(HISTORY_PATIENTS) + list(patients)
    for kind, product, count, *spans in FRESH:
        for _ in range(count):
            start = now - rng.uniform(3, 54) * D
            stories.append(history.fresh(rng.choice(people), kind, product, start, spans))
    for kind, first, msc, count in CULTURED:
        for _ in range(count):
            start = now - rng.uniform(40, 56) * D
            stories.append(history.cultured(rng.choice(people), kind, first, msc, start))
    stories.extend(extra)
    # The past's notifications are relayed once at the end rather than after each step
    # (the outbox keeps them meanwhile), and marked read: they were news weeks ago.
    config = current_app.config
    inline = config.get("NOTIFY_INLINE", True)
    config["NOTIFY_INLINE"] = False
    try:
        steps = play(stories)
    finally:
        config["NOTIFY_INLINE"] = inline
    if inline and not dispatch.broker_configured():
        relay_and_deliver()
    for user in (staff.tech, staff.doctor, staff.qa):
        inbox.mark_all_read(user)
    return steps


Starter = Callable[..., Iterator[datetime]]
