"""How long each stage takes, from the lab's own history.

A product carries the times of its collection's milestones (collected, received, processing
started, processed) and its own release, so one product row gives the duration of every
stage it went through. The readiness board estimates a ready time from these, and the audit
charts draw them; both read :data:`STAGES` and :func:`summarise` so they agree.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    starts: str  # the unit column that opens the stage
    ends: str  # the unit column that closes it


STAGES: tuple[Stage, ...] = (
    Stage("transit", "Collection → receipt", "collected_at", "received_at"),
    Stage("waiting", "Receipt → processing", "received_at", "processing_started_at"),
    Stage("processing", "Processing", "processing_started_at", "processed_at"),
    Stage("qc_release", "QC and release", "processed_at", "released_at"),
)
BY_KEY = {stage.key: stage for stage in STAGES}

# Fewer than this many finished examples of a stage and an estimate says it is a guess.
FEW = 5


@dataclass(frozen=True, slots=True)
class StageSummary:
    """The spread of one stage's durations: the middle and the 10th–90th percentile band."""

    n: int
    median: timedelta
    low: timedelta  # 10th percentile
    high: timedelta  # 90th percentile

    @property
    def sure(self) -> bool:
        return self.n >= FEW


def summarise(durations: list[timedelta]) -> StageSummary | None:
    """None for no history; one example is its own median and band."""
    seconds = sorted(d.total_seconds() for d in durations if d >= timedelta(0))
    if not seconds:
        return None
    if len(seconds) == 1:
        one = timedelta(seconds=seconds[0])
        return StageSummary(1, one, one, one)
    deciles = statistics.quantiles(seconds, n=10, method="inclusive")
    return StageSummary(
        n=len(seconds),
        median=timedelta(seconds=statistics.median(seconds)),
        low=timedelta(seconds=deciles[0]),
        high=timedelta(seconds=deciles[-1]),
    )
