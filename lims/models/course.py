"""A therapy course: the collections and products given to one patient for one treatment,
named by its chain-of-identity identifier (ISBT 128 ST-028; decision 104).

A course may hold many collections (a series of PRP sessions) and products used months apart
(a harvest whose MSC aliquots serve maintenance treatments). Every unit of the course carries
its identifier in ``units.chain_of_identity``, so reading a unit never needs a join.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .patient import Patient
from .site import Site
from .types import UTCDateTime, utcnow
from .user import User


class TherapyCourse(db.Model):
    __tablename__ = "therapy_courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    # The facility that assigned the identifier (its number is in the code).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship()
    site: Mapped[Site | None] = relationship()
    started_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<TherapyCourse {self.code}>"
