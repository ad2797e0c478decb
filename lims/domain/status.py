"""Unit statuses (product §4): the lifecycle's states and the groups the table names."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    IN_PROCESSING = "in_processing"
    PROCESSED = "processed"
    QUARANTINE = "quarantine"
    RELEASED = "released"
    DISPENSED = "dispensed"
    ADMINISTERED = "administered"
    RETURNED = "returned"
    REJECTED = "rejected"
    DISCARDED = "discarded"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.ADMINISTERED, Status.REJECTED, Status.DISCARDED, Status.EXPIRED})
PRE_RELEASE = frozenset(  # "collected … quarantine" in product §4
    {
        Status.COLLECTED,
        Status.IN_TRANSIT,
        Status.RECEIVED,
        Status.IN_PROCESSING,
        Status.PROCESSED,
        Status.QUARANTINE,
    }
)
AT_RECEIPT = frozenset({Status.COLLECTED, Status.IN_TRANSIT, Status.RECEIVED})
NON_FINAL = frozenset(Status) - FINAL_STATUSES
# A unit the scheduler expires when its time is up. Not while it is being processed (the
# source's window stops when processing starts) and not a source already processed.
EXPIRABLE = NON_FINAL - {Status.IN_PROCESSING, Status.PROCESSED}
RELEASABLE = frozenset({Status.QUARANTINE, Status.RETURNED})
