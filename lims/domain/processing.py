"""Processing protocols (product §3): the steps that turn a unit into its product.

Each step is recorded while the unit is ``in_processing`` (operator, start and end, reagent
and lot, equipment, notes); ``complete_processing`` is refused until every required step of
the unit's protocol is on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    required: bool = True
    reagent: str | None = None  # a step that uses a reagent must name its lot
    equipment: str | None = None  # the kind of equipment it is done on (domain.materials)


@dataclass(frozen=True)
class Protocol:
    key: str
    name: str
    source_types: tuple[str, ...]
    steps: tuple[Step, ...]

    def step(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.steps if s.required)


PROTOCOLS: dict[str, Protocol] = {
    p.key: p
    for p in (
        Protocol(
            "svf",
            "Adipose → SVF (enzymatic digestion)",
            ("ADIPOSE",),
            (
                Step("wash", "Wash lipoaspirate", reagent="wash buffer"),
                Step(
                    "collagenase_digestion",
                    "Collagenase digestion, 37 °C",
                    reagent="collagenase",
                    equipment="incubator",
                ),
                Step(
                    "neutralise_centrifuge",
                    "Neutralise and centrifuge",
                    reagent="neutralising medium",
                    equipment="centrifuge",
                ),
                Step("filter", "Filter (100 µm)"),
                Step("red_cell_lysis", "Red-cell lysis", required=False, reagent="lysis buffer"),
                Step("resuspend", "Resuspend", reagent="resuspension medium"),
                Step("count", "Count cells and viability", equipment="cell_counter"),
            ),
        ),
        Protocol(
            "bm-mnc",
            "Marrow → BM-MNC (density gradient)",
            ("MARROW",),
            (
                Step("dilute", "Dilute aspirate", reagent="diluent"),
                Step(
                    "density_gradient",
                    "Density gradient centrifugation",
                    reagent="gradient medium",
                    equipment="centrifuge",
                ),
                Step("collect_mnc", "Collect mononuclear layer"),
                Step("wash_1", "Wash 1", reagent="wash buffer", equipment="centrifuge"),
                Step("wash_2", "Wash 2", reagent="wash buffer", equipment="centrifuge"),
                Step("resuspend", "Resuspend", reagent="resuspension medium"),
                Step("count", "Count cells and viability", equipment="cell_counter"),
            ),
        ),
        Protocol(
            "prp",
            "Blood → PRP (double spin)",
            ("BLOOD",),
            (
                Step("soft_spin", "Soft spin", equipment="centrifuge"),
                Step("separate_plasma", "Separate plasma"),
                Step("hard_spin", "Hard spin", equipment="centrifuge"),
                Step("resuspend", "Resuspend platelets"),
                Step("count", "Count platelets", equipment="cell_counter"),
            ),
        ),
        Protocol(
            "msc",
            "SVF / BM-MNC → MSC (culture expansion, cryopreservation)",
            ("SVF", "BM-MNC"),
            (
                Step("seed", "Seed culture", reagent="culture medium"),
                Step(
                    "expand", "Expand (passages)", reagent="culture medium", equipment="incubator"
                ),
                Step("harvest", "Harvest", reagent="dissociation reagent"),
                Step("count", "Count cells and viability", equipment="cell_counter"),
                Step(
                    "cryopreserve",
                    "Cryopreserve (controlled-rate freezing)",
                    reagent="cryoprotectant",
                    equipment="controlled_rate_freezer",
                ),
            ),
        ),
    )
}


def protocol_for(unit_type: str) -> Protocol | None:
    """The protocol that processes a unit of this type (sources, and culture of SVF/BM-MNC)."""
    return next((p for p in PROTOCOLS.values() if unit_type in p.source_types), None)


def missing_steps(protocol: Protocol, recorded: set[str]) -> tuple[str, ...]:
    return tuple(key for key in protocol.required if key not in recorded)


def batch_record(
    unit_type: str,
    start: datetime,
    end: datetime,
    *,
    equipment: Mapping[str, str] | None = None,
    lots: Mapping[str, str] | None = None,
    quantity: float = 1.0,
    skip: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """A paper batch record's steps for ``complete_processing``: every step of the protocol
    that processes ``unit_type`` (but ``skip``), spread evenly over [start, end], each taking
    four fifths of its share. The demo data, the tests and the benchmarks write it this way.

    ``equipment`` maps a kind of equipment to the register code of the item used for it, and
    ``lots`` a reagent to the code of its lot; a step that needs a kind or a reagent gets that
    code (and ``quantity`` of the lot)."""
    protocol = protocol_for(unit_type)
    if protocol is None:
        raise ValueError(f"no protocol processes {unit_type}")
    equipment, lots = equipment or {}, lots or {}
    share = (end - start) / len(protocol.steps)
    steps = []
    for index, step in enumerate(protocol.steps):
        if step.key in skip:
            continue
        began = start + share * index
        data: dict[str, Any] = {
            "step": step.key,
            "started_at": began.isoformat(),
            "ended_at": (began + share * 0.8).isoformat(),
        }
        if step.equipment and step.equipment in equipment:
            data["equipment"] = equipment[step.equipment]
        if step.reagent and step.reagent in lots:
            data.update(lot=lots[step.reagent], quantity=quantity)
        steps.append(data)
    return steps
