"""What QA must look at beside the release queue: recent wristband/unit mismatches.

A mismatch refuses the action it guarded (dispense, administer, a scan-station check) and
is recorded as an ``identity_check`` ledger entry with result "mismatch"; this reads them
back so a near miss does not stay buried in one unit's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ...extensions import db
from ...models import LedgerEntry, Patient, Unit
from ...models.types import utcnow

ALERT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class IdentityAlert:
    """One recorded mismatch: the unit, whose wristband was scanned, by whom and when."""

    entry: LedgerEntry
    unit: Unit | None
    wristband: str
    wristband_patient: Patient | None
    refused_action: str | None

    @property
    def recorded_at(self) -> datetime:
        return self.entry.recorded_at


def identity_mismatches(
    window: timedelta = ALERT_WINDOW, now: datetime | None = None
) -> list[IdentityAlert]:
    """Mismatched identity checks of the last ``window``, newest first."""
    since = (now or utcnow()) - window
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.action == "identity_check", LedgerEntry.recorded_at >= since)
        .order_by(LedgerEntry.seq.desc())
    )
    alerts = []
    for entry in entries:
        data = json.loads(entry.data or "{}")
        if data.get("result") != "mismatch":
            continue
        patient_id = data.get("patient_id")
        alerts.append(
            IdentityAlert(
                entry=entry,
                unit=db.session.get(Unit, entry.unit_id) if entry.unit_id else None,
                wristband=str(data.get("wristband", "")),
                wristband_patient=db.session.get(Patient, patient_id) if patient_id else None,
                refused_action=data.get("refused_action"),
            )
        )
    return alerts
