from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mrn: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None] = mapped_column(Date)
    wristband: Mapped[str] = mapped_column(String(16), unique=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    diagnosis: Mapped[str | None] = mapped_column(String(80))
    stage: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinician: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Patient {self.mrn}>"
