"""What the seeded lab did: collections spread over time, each with a story.

Pure planning, no database and no Flask: the same random seed makes the same plan. A
story is the list of lifecycle actions a collection went through after registration;
stories are weighted so that every status built so far holds a useful share of units
(a real lab would have fewer units in transit; the benchmark wants filters to bite).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

SOURCE_MIX = (("ADIPOSE", 0.5), ("MARROW", 0.2), ("BLOOD", 0.3))

# (final status of the source unit, share of collections, actions after ``register``)
STORIES = (
    ("collected", 0.06, ()),
    ("in_transit", 0.06, ("dispatch",)),
    ("received", 0.08, ("receive",)),
    ("in_processing", 0.06, ("receive", "start_processing")),
    ("processed", 0.60, ("receive", "start_processing", "complete_processing")),
    ("rejected", 0.07, ("receive", "reject")),
    ("discarded", 0.07, ("receive", "start_processing", "discard")),
)
DISPATCHED = 0.5  # share of collections sent by courier before receipt
RETURNING_PATIENT = 0.35  # share of collections from a patient seen before

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Kemal", "Lena", "Malik", "Nora", "Oskar", "Paula", "Rafael", "Sofia", "Timo", "Yara",
    "Amir", "Bianca", "Carlos", "Dana", "Emil", "Fatima", "Georg", "Hana", "Igor", "Julia",
    "Karin", "Luca", "Mira", "Nils", "Olga", "Pavel", "Rosa", "Sami", "Tara", "Viktor",
)  # fmt: skip
# Surnames are a stem and an ending (25 × 16 = 400), so that a full name is shared by a few
# dozen patients at a million units, as in a big clinic, rather than by a thousand: with 400
# full names in all, a search by name measured the rare name shared by a town (decision 115).
SURNAME_STEMS = (
    "Al", "Brand", "Cost", "Dvor", "Erik", "Fisch", "Garc", "Hof", "Ivan", "Jans",
    "Kowal", "Lind", "Mor", "Nov", "Okaf", "Petr", "Quin", "Ross", "Schmid", "Yilm",
    "Berg", "Kram", "Weid", "Sand", "Holt",
)  # fmt: skip
SURNAME_ENDINGS = (
    "ers", "t", "a", "ak", "sen", "er", "ia", "mann", "ova", "en", "ski", "gren", "eau",
    "ic", "or", "ini",
)  # fmt: skip
LAST_NAMES = tuple(stem + ending for stem in SURNAME_STEMS for ending in SURNAME_ENDINGS)
DIAGNOSES = (
    ("androgenetic alopecia", ("Norwood III", "Norwood IV", "Norwood V", "Ludwig I", "Ludwig II")),
    ("telogen effluvium", ("acute", "chronic")),
)


@dataclass(eq=False)
class PatientPlan:
    """A patient; identifiers are filled in once their numbers are reserved."""

    name: str
    birth_date: date
    diagnosis: str
    stage: str
    id: int | None = None
    mrn: str | None = None
    wristband: str | None = None
    course_code: str | None = None  # one therapy course per bench patient (decision 104)
    course_started: bool = False
    written: bool = False


@dataclass(eq=False)
class CollectionPlan:
    """One collection and what happened to it; its DIN is filled in once reserved."""

    kind: str
    collected_at: datetime
    actions: tuple[str, ...]
    patient: PatientPlan
    din: str | None = None

    @property
    def unit_count(self) -> int:
        return 2 if "complete_processing" in self.actions else 1


@dataclass
class Plan:
    collections: list[CollectionPlan] = field(default_factory=list)
    patients: list[PatientPlan] = field(default_factory=list)

    @property
    def unit_count(self) -> int:
        return sum(c.unit_count for c in self.collections)

    def collections_per_year(self) -> Counter[int]:
        return Counter(c.collected_at.year for c in self.collections)


def _story(rng: random.Random, units_left: int) -> tuple[str, ...]:
    _, _, actions = rng.choices(STORIES, weights=[s[1] for s in STORIES])[0]
    if "complete_processing" in actions and units_left < 2:
        actions = ("receive",)  # room for one unit only: no product
    if actions and actions[0] == "receive" and rng.random() < DISPATCHED:
        actions = ("dispatch", *actions)
    return actions


def _new_patient(rng: random.Random) -> PatientPlan:
    diagnosis, stages = rng.choice(DIAGNOSES)
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(50 * 365))
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return PatientPlan(name, birth, diagnosis, rng.choice(stages))


def plan(units: int, *, start: datetime, end: datetime, rng: random.Random) -> Plan:
    """Collections between ``start`` and ``end`` that make exactly ``units`` units."""
    if units < 1:
        raise ValueError("seed at least one unit")
    stories: list[tuple[str, ...]] = []
    left = units
    while left > 0:
        actions = _story(rng, left)
        stories.append(actions)
        left -= 2 if "complete_processing" in actions else 1
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=span * rng.random()) for _ in stories)
    kinds = rng.choices([k for k, _ in SOURCE_MIX], [w for _, w in SOURCE_MIX], k=len(stories))
    result = Plan()
    for collected_at, kind, actions in zip(times, kinds, stories, strict=True):
        if result.patients and rng.random() < RETURNING_PATIENT:
            patient = rng.choice(result.patients)
        else:
            patient = _new_patient(rng)
            result.patients.append(patient)
        result.collections.append(CollectionPlan(kind, collected_at, actions, patient))
    return result
