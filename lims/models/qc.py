"""QC specifications (admin versions), results, deviations and electronic signatures.

Results, specification versions and signatures are only ever inserted: the database refuses
UPDATE and DELETE on them, as on the ledger. A correction is a new result naming the old one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.qc import Spec
from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User


class QcSpec(db.Model):
    """A specification version an admin published; version 1 of each is built in (domain.qc)."""

    __tablename__ = "qc_specs"
    __table_args__ = (UniqueConstraint("product_type", "test", "version", name="uq_qc_specs"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_type: Mapped[str] = mapped_column(String(20))
    test: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str | None] = mapped_column(String(2))
    limit: Mapped[float | None] = mapped_column(Float)
    accept: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of words
    required: Mapped[bool] = mapped_column(Boolean)
    pending_at_release: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()

    def to_spec(self) -> Spec:
        return Spec(
            product_type=self.product_type,
            test=self.test,
            version=self.version,
            operator=self.operator,
            limit=self.limit,
            accept=tuple(json.loads(self.accept or "[]")),
            required=self.required,
            pending_at_release=self.pending_at_release,
        )


class QcResult(db.Model):
    __tablename__ = "qc_results"
    __table_args__ = (Index("uq_qc_results_source", "source", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    test: Mapped[str] = mapped_column(String(40))
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(120))
    lot: Mapped[str] = mapped_column(String(40))
    spec_version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[str] = mapped_column(Text)  # JSON snapshot of the spec it was judged against
    verdict: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    # The instrument that measured it (a register code, never free text), and for an imported
    # result the file and row it came from: ``<sha256>:<row>``, unique, so a file imported twice
    # imports each row once.
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    source: Mapped[str | None] = mapped_column(String(80))

    recorded_by: Mapped[User] = relationship()

    @property
    def value(self) -> float | str:
        return self.value_text if self.value_text is not None else float(self.value_number or 0)

    @property
    def spec_snapshot(self) -> dict[str, Any]:
        return json.loads(self.spec)


class Deviation(db.Model):
    """Something outside specification or acceptance, opened on a unit for QA to review."""

    __tablename__ = "deviations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    qc_result_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Closing is QA's signed decision: the signed ledger entry is the record; these columns
    # say, for lists, that it happened and what was decided.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(40))
    decision_note: Mapped[str | None] = mapped_column(Text)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"))
    # A deviation QA opens to permit one use of equipment the register would refuse (out of
    # service, calibration lapsed); the step that uses it cites this deviation.
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    # A deviation opened when a shipment arrived with this unit missing, damaged, unexpected
    # or outside its shipping condition (decision 102).
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))

    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    signature: Mapped[Signature | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Signature(db.Model):
    """One electronic signature, bound to the hash of the record it signed."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    action: Mapped[str] = mapped_column(String(40))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    record_hash: Mapped[str] = mapped_column(String(64))

    signer: Mapped[User] = relationship()
