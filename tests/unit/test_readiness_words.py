"""The board's words for each status, from the unit's facts alone (``domain.readiness``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lims.domain.readiness import UnitFacts, status_words
from lims.domain.status import Status

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
FACTS = UnitFacts(
    unit_type="PRP",
    status=Status.RECEIVED,
    expires_at=LATER,
    qc_alert=None,
    thawed_at=None,
    custodian_name=None,
    cryopreserved=False,
    is_source=False,
)


def when(moment: datetime) -> str:
    return f"<{moment:%d %H:%M}>"


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"status": Status.COLLECTED}, "Collected — not yet sent to the lab"),
        ({"status": Status.IN_TRANSIT}, "On its way to the lab"),
        ({"status": Status.RECEIVED}, "At the lab, waiting for processing"),
        ({"status": Status.IN_PROCESSING}, "At the lab, being processed"),
        (
            {"status": Status.IN_PROCESSING, "unit_type": "SVF"},
            "At the lab, in culture (expansion)",
        ),
        ({"status": Status.PROCESSED}, "Processed — see its products"),
        ({"status": Status.QUARANTINE}, "In QC — awaiting release"),
        (
            {"status": Status.QUARANTINE, "open_deviations": ("qc_out_of_specification",)},
            "In QC — out of specification, awaiting QA's decision",
        ),
        ({"status": Status.RELEASED}, "Ready for injection — usable until <09 12:00>"),
        ({"status": Status.RELEASED, "expires_at": None}, "Ready for injection — no expiry set"),
        (
            {"status": Status.RELEASED, "cryopreserved": True},
            "Ready for injection — frozen in the bank, usable until <09 12:00>; 4 h once thawed",
        ),
        (
            {"status": Status.RELEASED, "cryopreserved": True, "thawed_at": NOW},
            "Ready for injection — usable until <09 12:00>",
        ),
        (
            {"status": Status.DISPENSED, "custodian_name": "Dr. Becker"},
            "Dispensed to Dr. Becker — usable until <09 12:00>",
        ),
        ({"status": Status.DISPENSED}, "Dispensed to a clinician — usable until <09 12:00>"),
        ({"status": Status.RETURNED}, "Returned to the lab — waiting for QA's decision"),
        ({"status": Status.ADMINISTERED}, "Administered"),
        (
            {"status": Status.RELEASED, "qc_alert": "sterility positive"},
            "QC alert — do not use: sterility positive",
        ),
        (
            {"status": Status.RELEASED, "expires_at": NOW - timedelta(hours=1)},
            "Expired <07 11:00> — do not use",
        ),
    ],
)
def test_each_status_in_words(changes, words):
    assert status_words(replace(FACTS, **changes), NOW, when) == words


def test_a_status_that_needs_no_moment_formats_none():
    asked = []
    status_words(FACTS, NOW, lambda moment: asked.append(moment) or "")
    assert asked == []
