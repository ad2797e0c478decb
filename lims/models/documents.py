"""Documents the system issues and keeps: certificates of release and validation reports.

A certificate of release is frozen when it is issued: its content (canonical JSON) and the
SHA-256 of that content are stored, and the ``certificate_issued`` ledger entry carries the
same digest, so a certificate printed again is the one issued and a changed row no longer
matches the ledger. Certificates are only ever inserted: a later fact (a sterility result
after release, a correction) issues a new one that names the one it replaces.

A validation report is stored as generated (its data, HTML and PDF, and the SHA-256 of its
data, which the ``validation_report_recorded`` entry carries); QA's approval is a signed
ledger entry, which the row cites.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime
from .user import User


class ReleaseCertificate(db.Model):
    __tablename__ = "release_certificates"
    __table_args__ = (UniqueConstraint("unit_id", "number", name="uq_release_certificates"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per unit
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("release_certificates.id"))
    reason: Mapped[str] = mapped_column(Text)  # why it was issued: release, a late QC result…
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    sha256: Mapped[str] = mapped_column(String(64))

    issued_by: Mapped[User] = relationship()


class ValidationReport(db.Model):
    __tablename__ = "validation_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    generated_by: Mapped[str] = mapped_column(String(120))  # who ran it (a person or the CLI)
    version: Mapped[str] = mapped_column(String(80))  # the software version validated
    passed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    requirements_met: Mapped[int] = mapped_column(Integer)
    requirements_total: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of ``content``
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the report's data
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    approved_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    approved_by: Mapped[User | None] = relationship()
