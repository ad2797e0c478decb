"""Equipment, reagent lots, what touched which unit, and instrument result imports.

Calibration, qualification and maintenance records are only ever inserted (the database
refuses UPDATE and DELETE, as on QC results); the equipment row carries what the latest ones
say, for lists and checks. Each change to either register is also a ledger entry.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.materials import IN_SERVICE, EquipmentState, LotState
from ..extensions import db
from .location import Location
from .types import UTCDateTime, utcnow
from .user import User


class Equipment(db.Model):
    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))
    model: Mapped[str | None] = mapped_column(String(120))
    serial_number: Mapped[str | None] = mapped_column(String(80))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(20), default=IN_SERVICE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # How often a calibration is expected (for the schedule); the latest record says until when
    # the item is valid.
    calibration_interval_days: Mapped[int | None] = mapped_column(Integer)
    calibration_valid_until: Mapped[date | None] = mapped_column(Date)
    maintenance_interval_days: Mapped[int | None] = mapped_column(Integer)
    maintenance_due_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    location: Mapped[Location | None] = relationship()
    created_by: Mapped[User] = relationship()

    def state(self) -> EquipmentState:
        return EquipmentState(
            code=self.code,
            name=self.name,
            status=self.status,
            status_reason=self.status_reason,
            calibration_valid_until=self.calibration_valid_until,
            maintenance_due_on=self.maintenance_due_on,
        )


class EquipmentRecord(db.Model):
    """One calibration, qualification or maintenance, as done (append-only)."""

    __tablename__ = "equipment_records"
    __table_args__ = (Index("ix_equipment_records_item", "equipment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    kind: Mapped[str] = mapped_column(String(20))
    performed_on: Mapped[date] = mapped_column(Date)
    performed_by: Mapped[str] = mapped_column(String(120))
    certificate_ref: Mapped[str | None] = mapped_column(String(120))
    valid_until: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    equipment: Mapped[Equipment] = relationship()
    recorded_by: Mapped[User] = relationship()


class ReagentLot(db.Model):
    """A lot of a reagent or consumable as received; usable once QA has signed its acceptance."""

    __tablename__ = "reagent_lots"
    __table_args__ = (
        UniqueConstraint("manufacturer", "product_name", "lot_number", name="uq_reagent_lots"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    reagent: Mapped[str] = mapped_column(String(60))  # what a protocol step asks for
    product_name: Mapped[str] = mapped_column(String(120))
    manufacturer: Mapped[str] = mapped_column(String(120))
    lot_number: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[date] = mapped_column(Date)
    storage: Mapped[str] = mapped_column(String(120))
    quantity_received: Mapped[float] = mapped_column(Float)
    quantity_remaining: Mapped[float] = mapped_column(Float)
    quantity_unit: Mapped[str] = mapped_column(String(10))
    coa_ref: Mapped[str] = mapped_column(String(120))  # certificate of analysis reference
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # QA's signed acceptance is a ledger entry carrying the signature's manifest (the
    # signatures table holds signatures on units).
    acceptance_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    flagged: Mapped[str | None] = mapped_column(String(20))  # "used_up" or "expired", once

    received_by: Mapped[User] = relationship(foreign_keys=[received_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    def state(self) -> LotState:
        return LotState(
            code=self.code,
            reagent=self.reagent,
            lot_number=self.lot_number,
            expires_on=self.expires_on,
            accepted=self.accepted_at is not None,
            quantity_remaining=self.quantity_remaining,
            quantity_unit=self.quantity_unit,
        )


class MaterialUse(db.Model):
    """One piece of equipment or one reagent lot used on a unit, by one ledger entry.

    The recall look-ups read this table: every unit an item or a lot touched. The item's
    calibration at that moment is kept, so a later recalibration does not rewrite history.
    """

    __tablename__ = "material_uses"
    __table_args__ = (
        Index("ix_material_uses_equipment", "equipment_id", "id"),
        Index("ix_material_uses_lot", "reagent_lot_id", "id"),
        Index("ix_material_uses_unit", "unit_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    action: Mapped[str] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    reagent_lot_id: Mapped[int | None] = mapped_column(ForeignKey("reagent_lots.id"))
    quantity: Mapped[float | None] = mapped_column(Float)
    calibration_valid_until: Mapped[date | None] = mapped_column(Date)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviations.id"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)

    equipment: Mapped[Equipment | None] = relationship()
    reagent_lot: Mapped[ReagentLot | None] = relationship()


class QcImport(db.Model):
    """An instrument result file: uploaded, previewed, then confirmed and imported."""

    __tablename__ = "qc_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    mapping: Mapped[str | None] = mapped_column(Text)  # JSON, for the generic mapped CSV
    content: Mapped[str] = mapped_column(Text)  # the file as uploaded (UTF-8 text)
    preview: Mapped[str] = mapped_column(Text, default="[]")  # JSON rows with their verdicts
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    imported_count: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    equipment: Mapped[Equipment | None] = relationship()
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def rows(self) -> list[dict[str, Any]]:
        return json.loads(self.preview or "[]")
