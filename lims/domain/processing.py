"""Processing protocols (product §3): the steps that turn a unit into its product.

Each step is recorded while the unit is ``in_processing`` (operator, start and end, reagent
and lot, equipment, notes); ``complete_processing`` is refused until every required step of
the unit's protocol is on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    required: bool = True
    reagent: str | None = None  # a step that uses a reagent must name its lot


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
                    "collagenase_digestion", "Collagenase digestion, 37 °C", reagent="collagenase"
                ),
                Step(
                    "neutralise_centrifuge",
                    "Neutralise and centrifuge",
                    reagent="neutralising medium",
                ),
                Step("filter", "Filter (100 µm)"),
                Step("red_cell_lysis", "Red-cell lysis", required=False, reagent="lysis buffer"),
                Step("resuspend", "Resuspend", reagent="resuspension medium"),
                Step("count", "Count cells and viability"),
            ),
        ),
        Protocol(
            "bm-mnc",
            "Marrow → BM-MNC (density gradient)",
            ("MARROW",),
            (
                Step("dilute", "Dilute aspirate", reagent="diluent"),
                Step(
                    "density_gradient", "Density gradient centrifugation", reagent="gradient medium"
                ),
                Step("collect_mnc", "Collect mononuclear layer"),
                Step("wash_1", "Wash 1", reagent="wash buffer"),
                Step("wash_2", "Wash 2", reagent="wash buffer"),
                Step("resuspend", "Resuspend", reagent="resuspension medium"),
                Step("count", "Count cells and viability"),
            ),
        ),
        Protocol(
            "prp",
            "Blood → PRP (double spin)",
            ("BLOOD",),
            (
                Step("soft_spin", "Soft spin"),
                Step("separate_plasma", "Separate plasma"),
                Step("hard_spin", "Hard spin"),
                Step("resuspend", "Resuspend platelets"),
                Step("count", "Count platelets"),
            ),
        ),
        Protocol(
            "msc",
            "SVF / BM-MNC → MSC (culture expansion, cryopreservation)",
            ("SVF", "BM-MNC"),
            (
                Step("seed", "Seed culture", reagent="culture medium"),
                Step("expand", "Expand (passages)", reagent="culture medium"),
                Step("harvest", "Harvest", reagent="dissociation reagent"),
                Step("count", "Count cells and viability"),
                Step(
                    "cryopreserve",
                    "Cryopreserve (controlled-rate freezing)",
                    reagent="cryoprotectant",
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
    equipment: str = "Biosafety cabinet BSC-1",
    lot: str = "{key}-{began:%y%m}-{index:02d}",
    skip: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """A paper batch record's steps for ``complete_processing``: every step of the protocol
    that processes ``unit_type`` (but ``skip``), spread evenly over [start, end], each taking
    four fifths of its share. The demo data, the tests and the benchmarks write it this way;
    the bench uses it as a lab would. ``lot`` is formatted with the step's ``key`` (first
    three letters, upper case), ``began`` and ``index``."""
    protocol = protocol_for(unit_type)
    if protocol is None:
        raise ValueError(f"no protocol processes {unit_type}")
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
            "equipment": equipment,
        }
        if step.reagent:
            key = step.key[:3].upper()
            data.update(reagent=step.reagent, lot=lot.format(key=key, began=began, index=index))
        steps.append(data)
    return steps
