"""A bulk import of what a lab already has (patients, units, locations, users): the file as
uploaded, its dry run (each row's result) and, once confirmed, the job that imports it all or
nothing (decisions 109-110)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User


class DataImport(db.Model):
    __tablename__ = "data_imports"
    __table_args__ = (Index("ix_data_imports_kind_sha256", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # patients, units, locations, users
    sha256: Mapped[str] = mapped_column(String(64))  # of the bytes as uploaded
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(10))  # csv, xlsx
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the file as uploaded
    preview: Mapped[str] = mapped_column(Text, default="[]")  # JSON: each row's result
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    # previewed, importing, imported, failed
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    imported_count: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # failed: why nothing was imported
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def rows(self) -> list[dict[str, Any]]:
        return json.loads(self.preview or "[]")
