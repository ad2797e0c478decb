"""Appointments a clinician books for a patient: a collection (the lab expects a sample) or an
injection (the patient expects a released product). Scheduling, not custody: an appointment
may be moved or cancelled, and the readiness board reads them to say whether the product will
be ready, and still usable, in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .patient import Patient
from .types import UTCDateTime, utcnow
from .unit import Unit
from .user import User

APPOINTMENT_KINDS = ("collection", "injection")
APPOINTMENT_STATUSES = ("booked", "cancelled", "done")


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_clinician_when", "clinician_id", "scheduled_at"),
        Index("ix_appointments_patient_when", "patient_id", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # collection, injection
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The product meant for an injection, when the clinician names one; else the board
    # matches the patient's live products.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="booked")
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    unit: Mapped[Unit | None] = relationship()

    def __repr__(self) -> str:
        return f"<Appointment {self.kind} {self.scheduled_at:%Y-%m-%d %H:%M} {self.status}>"
