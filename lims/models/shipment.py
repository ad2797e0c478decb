"""Shipments of units between sites, or to an outside laboratory (decision 102).

A shipment is packed at its sending site (units scanned in as items), checked by a second
person and dispatched; the receiving site scans every unit in and each item gets its outcome.
The custody of each unit moves through the ledger (``dispatch``/``receive`` for collections,
``ship``/``arrive`` for products), every entry naming the shipment; this table says what the
shipment is and what was found in it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .site import Site
from .types import UTCDateTime, utcnow
from .user import User


class Shipment(db.Model):
    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_status_expected", "status", "expected_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    to_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    status: Mapped[str] = mapped_column(String(20))  # ShipmentStatus
    container: Mapped[str] = mapped_column(String(120))
    courier: Mapped[str] = mapped_column(String(120))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    condition: Mapped[str] = mapped_column(String(20))  # domain.shipments.CONDITIONS
    logger_id: Mapped[str | None] = mapped_column(String(80))  # the temperature logger's id
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    packed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrival_temperature_c: Mapped[float | None] = mapped_column(Float)
    receipt_note: Mapped[str | None] = mapped_column(Text)
    discrepancies: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    from_site: Mapped[Site] = relationship(foreign_keys=[from_site_id])
    to_site: Mapped[Site] = relationship(foreign_keys=[to_site_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    packed_by: Mapped[User | None] = relationship(foreign_keys=[packed_by_id])
    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    items: Mapped[list[ShipmentItem]] = relationship(
        back_populates="shipment", order_by="ShipmentItem.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Shipment {self.code} {self.status}>"


class ShipmentItem(db.Model):
    """One unit on the manifest, or one found on arrival that was not on it (``unexpected``:
    then ``unit_id`` is None when the scanned code names no unit of this installation)."""

    __tablename__ = "shipment_items"
    __table_args__ = (UniqueConstraint("shipment_id", "unit_id", name="uq_shipment_items_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    scanned: Mapped[str | None] = mapped_column(String(200))  # an unexpected unknown code
    on_manifest: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[str] = mapped_column(String(20))  # domain.shipments.Outcome
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviations.id"))

    shipment: Mapped[Shipment] = relationship(back_populates="items")
    unit = relationship("Unit")
