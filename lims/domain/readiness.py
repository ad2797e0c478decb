"""The readiness board's rules, with no Flask and no database: what a unit's status
means to a clinician, when it will probably be ready, and what to warn about.

Estimates come from the lab's own history (``domain.turnaround``): for the stage a unit is
in now, the median time that stage takes less the time already spent in it (never below
zero), plus the medians of every later stage up to release. The band adds up the stages'
10th and 90th percentiles in the same way, so it is approximate (percentiles do not add
exactly); the board says so. A source unit not yet processed is estimated for the product
its protocol makes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .catalogue import products_of
from .status import EXPIRABLE, FINAL_STATUSES, Status
from .turnaround import BY_KEY, FEW, STAGES, StageSummary

# The stage a unit in each status is in, on its way to release.
STAGE_OF_STATUS: dict[Status, str] = {
    Status.COLLECTED: "transit",
    Status.IN_TRANSIT: "transit",
    Status.RECEIVED: "waiting",
    Status.IN_PROCESSING: "processing",
    Status.QUARANTINE: "qc_release",
}
# Statuses the board shows: everything still alive, except a source already processed
# (its products stand for it).
ON_BOARD = frozenset(Status) - FINAL_STATUSES - {Status.PROCESSED}
# A booked appointment this recent still counts as "next" (it may be under way).
UNDER_WAY = timedelta(hours=2)

Formatter = Callable[[datetime], str]


@dataclass(frozen=True, slots=True)
class Estimate:
    """When a unit will probably be released, for the product type it becomes."""

    product_type: str
    at: datetime | None  # None: no history to estimate from
    low: datetime | None
    high: datetime | None
    n: int  # the fewest finished examples behind any stage used
    late: bool = False  # already longer in its stage than the lab's 90th percentile
    missing: tuple[str, ...] = ()  # stages with no history yet

    @property
    def available(self) -> bool:
        return self.at is not None

    @property
    def sure(self) -> bool:
        return self.available and self.n >= FEW


def product_for(unit_type: str, status: Status) -> str | None:
    """The product type a unit's readiness is about: its own type once it is a product in
    QC, else what processing it makes (a source; an SVF or BM-MNC in culture)."""
    if status == Status.QUARANTINE:
        return unit_type
    made = products_of(unit_type)
    return made[0] if made else None


@dataclass(frozen=True, slots=True)
class Outlook:
    """What the lab's history says of ``product_type`` from one stage on to release: that
    stage's own spread, and the later stages' medians and band ends already added up (a board
    estimates hundreds of units from a handful of these)."""

    product_type: str
    current: StageSummary | None  # None when ``missing``
    later_median: timedelta
    later_low: timedelta
    later_high: timedelta
    n: int  # the fewest finished examples behind any stage used
    missing: tuple[str, ...]  # stages with no history yet


_STAGE_KEYS = tuple(s.key for s in STAGES)


def outlook(
    product_type: str, stage_key: str, summaries: Mapping[str, StageSummary | None]
) -> Outlook:
    """The stages from ``stage_key`` on to release, as ``summaries`` give them."""
    later = _STAGE_KEYS[_STAGE_KEYS.index(stage_key) :]
    zero = timedelta(0)
    missing = tuple(key for key in later if summaries.get(key) is None)
    if missing:
        return Outlook(product_type, None, zero, zero, zero, 0, missing)
    current, *rest = [summaries[key] for key in later]
    assert current is not None and all(s is not None for s in rest)
    return Outlook(
        product_type,
        current,
        sum((s.median for s in rest), zero),  # type: ignore[union-attr]
        sum((s.low for s in rest), zero),  # type: ignore[union-attr]
        sum((s.high for s in rest), zero),  # type: ignore[union-attr]
        min([current.n, *(s.n for s in rest)]),  # type: ignore[union-attr]
        (),
    )


def estimate_from(seen: Outlook, stage_started: datetime | None, now: datetime) -> Estimate:
    """The release estimate of a unit in ``seen``'s stage since ``stage_started``: the time
    that stage usually takes less what it has spent there (never below zero), plus the later
    stages'."""
    current = seen.current
    if current is None:
        return Estimate(seen.product_type, None, None, None, 0, missing=seen.missing)
    zero = timedelta(0)
    elapsed = max(now - stage_started, zero) if stage_started else zero
    return Estimate(
        seen.product_type,
        at=now + max(current.median - elapsed, zero) + seen.later_median,
        low=now + max(current.low - elapsed, zero) + seen.later_low,
        high=now + max(current.high - elapsed, zero) + seen.later_high,
        n=seen.n,
        late=elapsed > current.high,
    )


def estimate(
    product_type: str,
    stage_key: str,
    stage_started: datetime | None,
    now: datetime,
    summaries: Mapping[str, StageSummary | None],
) -> Estimate:
    """Estimate the release time of a unit now ``stage_key``, which began ``stage_started``."""
    return estimate_from(outlook(product_type, stage_key, summaries), stage_started, now)


def stage_start(stage_key: str, times: Mapping[str, datetime | None]) -> datetime | None:
    """When the stage began, from the unit's own milestone columns."""
    return times.get(BY_KEY[stage_key].starts)


def estimate_words(est: Estimate | None, when: Formatter, clock: Formatter) -> str:
    """ "about Thu 26 Nov 14:00 CET (usually 10:00–18:00 CET; from 12 products)" and kin.

    ``when`` formats a moment with its day, ``clock`` with the time of day only.
    """
    if est is None:
        return "no estimate"
    if not est.available:
        return f"no estimate yet: the lab has no finished {est.product_type} to learn from"
    late = " — taking longer than usual" if est.late else ""
    if not est.sure:
        so_far = "1 product" if est.n == 1 else f"{est.n} products"
        return f"rough guess: about {when(est.at)} — only {so_far} so far{late}"
    same_day = est.low.date() == est.high.date()
    band = (
        f"{clock(est.low)}–{clock(est.high)}" if same_day else f"{when(est.low)} – {when(est.high)}"
    )
    return f"about {when(est.at)} (usually {band}, approximately; from {est.n} products){late}"


@dataclass(frozen=True, slots=True)
class UnitFacts:
    """What the words and warnings need to know of a unit."""

    unit_type: str
    status: Status
    expires_at: datetime | None
    qc_alert: str | None
    thawed_at: datetime | None
    custodian_name: str | None
    cryopreserved: bool
    is_source: bool
    # Kinds of the deviations on it or what it was made from that QA has not yet decided.
    open_deviations: tuple[str, ...] = ()


def counts_down(facts: UnitFacts) -> datetime | None:
    """The expiry the board counts down to: a product's shelf life, or a source's window
    before processing; none while processing (the window stopped when processing began)."""
    return facts.expires_at if facts.status in EXPIRABLE else None


def is_expired(facts: UnitFacts, now: datetime) -> bool:
    expiry = counts_down(facts)
    return expiry is not None and expiry <= now


def is_ready(facts: UnitFacts, now: datetime) -> bool:
    """Released, not expired, no QC alert: the lab may hand it out for injection."""
    return facts.status == Status.RELEASED and not is_expired(facts, now) and not facts.qc_alert


# What a status says on its own (the rest depend on the unit's facts).
_PLAIN_WORDS = {
    Status.COLLECTED: "Collected — not yet sent to the lab",
    Status.IN_TRANSIT: "On its way to the lab",
    Status.RECEIVED: "At the lab, waiting for processing",
    Status.PROCESSED: "Processed — see its products",
    Status.RETURNED: "Returned to the lab — waiting for QA's decision",
}


def status_words(facts: UnitFacts, now: datetime, when: Formatter) -> str:
    """The unit's status as a clinician reads it."""
    if facts.qc_alert:
        return f"QC alert — do not use: {facts.qc_alert}"
    if is_expired(facts, now):
        return f"Expired {when(facts.expires_at)} — do not use"
    s = facts.status
    if s == Status.RELEASED or s == Status.DISPENSED:
        until = f"usable until {when(facts.expires_at)}" if facts.expires_at else "no expiry set"
        if s == Status.DISPENSED:
            return f"Dispensed to {facts.custodian_name or 'a clinician'} — {until}"
        if facts.cryopreserved and facts.thawed_at is None:
            return f"Ready for injection — frozen in the bank, {until}; 4 h once thawed"
        return f"Ready for injection — {until}"
    if s == Status.IN_PROCESSING:
        if facts.unit_type in ("SVF", "BM-MNC"):
            return "At the lab, in culture (expansion)"
        return "At the lab, being processed"
    if s == Status.QUARANTINE:
        if "qc_out_of_specification" in facts.open_deviations:
            return "In QC — out of specification, awaiting QA's decision"
        return "In QC — awaiting release"
    return _PLAIN_WORDS.get(s) or s.label.capitalize()


@dataclass(frozen=True, slots=True)
class Warning:
    code: str
    level: str  # "danger": do not use / will not work; "warn": may not work out
    text: str


def warnings(
    facts: UnitFacts,
    est: Estimate | None,
    injection: datetime | None,
    now: datetime,
    when: Formatter,
) -> list[Warning]:
    """What the clinician must not miss about one unit and the injection it is meant for."""
    found: list[Warning] = []
    if facts.qc_alert:
        found.append(Warning("qc_alert", "danger", f"QC alert: {facts.qc_alert}"))
    if is_expired(facts, now):
        found.append(
            Warning("expired", "danger", f"Expired {when(facts.expires_at)}; it cannot be used")
        )
    elif (
        injection is not None
        and not facts.is_source
        and counts_down(facts) is not None
        and injection > facts.expires_at
    ):
        found.append(
            Warning(
                "expires_before_appointment",
                "danger",
                f"The injection on {when(injection)} is after this product expires "
                f"({when(facts.expires_at)})",
            )
        )
    if facts.open_deviations and facts.status in STAGE_OF_STATUS:
        found.append(
            Warning(
                "deviation_open",
                "warn",
                "A deviation awaits QA's decision: release is not certain, and the estimate "
                "assumes it will be released",
            )
        )
    if injection is not None and est is not None and est.available and not is_ready(facts, now):
        if est.at > injection:
            found.append(
                Warning(
                    "ready_after_appointment",
                    "warn",
                    f"Probably not ready for the injection on {when(injection)} "
                    f"(estimated {when(est.at)})",
                )
            )
        elif est.high > injection:
            found.append(
                Warning(
                    "may_miss_appointment",
                    "warn",
                    f"May not be ready for the injection on {when(injection)} if the lab "
                    "takes as long as its slowest tenth",
                )
            )
    return found
