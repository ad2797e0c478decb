"""Deviations and QA's decision that closes one: the kinds the lab opens and the decisions
QA may sign (meaning ``reviewed``). Words only; no Flask, no database."""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    ACCEPTED_NO_IMPACT = "accepted_no_impact"
    ACCEPTED_WITH_CONDITIONS = "accepted_with_conditions"
    PRODUCT_REJECTED = "product_rejected"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


DECISION_LABELS = {
    Decision.ACCEPTED_NO_IMPACT: "accepted — no impact",
    Decision.ACCEPTED_WITH_CONDITIONS: "accepted with conditions",
    Decision.PRODUCT_REJECTED: "product rejected",
}

# What the lab opens deviations for (``lims.services.qc``); an unknown kind reads as itself.
KIND_LABELS = {
    "qc_out_of_specification": "QC out of specification",
    "receipt_outside_acceptance": "Accepted at receipt outside acceptance",
    "equipment_use_permitted": "Use of refused equipment permitted",
}

STATES = ("open", "closed", "all")
NOTE_MAX = 1000


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def decision_label(value: str | None) -> str:
    """A recorded decision as QA reads it; an unknown value reads as itself."""
    try:
        return Decision(value).label
    except ValueError:
        return str(value)
