"""Label printers, the rules that choose one for a station, and print jobs.

A print job holds the exact bytes sent to the printer (ZPL or PDF) and the barcode data the
label carries, so a retry sends the same label and the scan-back compares against what was
printed. Its ``print_label``/``reprint_label`` ledger entry is written when the job is
queued and names the job; sending, failing and confirming change the job's status, and the
confirmation, a mismatch and the destruction of a wrong label are ledger entries of their
own (decision 100).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User

PRINTER_KINDS = ("zpl_tcp", "cups_pdf")
JOB_STATUSES = ("queued", "sending", "sent", "failed", "confirmed", "mismatch", "destroyed")


class Printer(db.Model):
    __tablename__ = "printers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # PRINTER_KINDS
    # zpl_tcp: host and port (raw TCP, 9100); cups_pdf: the CUPS queue's name
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(120))
    dpi: Mapped[int] = mapped_column(Integer, default=203)
    stock: Mapped[str] = mapped_column(String(20))
    place: Mapped[str | None] = mapped_column(String(120))  # where it stands: room, bench
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # decision 103
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()

    @property
    def address(self) -> str:
        if self.kind == "zpl_tcp":
            return f"{self.host}:{self.port}"
        return f"CUPS queue {self.queue}"


class PrintRule(db.Model):
    """Which printer a station uses for a kind of label. A rule names a workstation, or a
    client address or network, or neither (any station); and a label template, or none (any
    label). The most specific matching rule wins."""

    __tablename__ = "print_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"))
    template: Mapped[str | None] = mapped_column(String(20))
    workstation: Mapped[str | None] = mapped_column(String(60))
    network: Mapped[str | None] = mapped_column(String(64))  # an address or CIDR network
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    printer: Mapped[Printer] = relationship()


class PrintJob(db.Model):
    __tablename__ = "print_jobs"
    __table_args__ = (
        Index("ix_print_jobs_unit", "unit_id", "id"),
        Index("ix_print_jobs_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    printer_id: Mapped[int] = mapped_column(ForeignKey("printers.id"))
    template: Mapped[str] = mapped_column(String(20))
    stock: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(4))  # zpl or pdf
    copies: Mapped[int] = mapped_column(Integer, default=1)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    subject: Mapped[str] = mapped_column(
        String(80)
    )  # what is printed, in words: a DIN, a wristband
    barcode_data: Mapped[str] = mapped_column(String(80))  # what the scan-back must read
    content: Mapped[bytes] = mapped_column(LargeBinary)
    action: Mapped[str] = mapped_column(String(20))  # print_label or reprint_label
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    workstation: Mapped[str | None] = mapped_column(String(60))
    client_address: Mapped[str | None] = mapped_column(String(64))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scanned: Mapped[str | None] = mapped_column(String(200))  # the scan-back, as read
    scan_matched: Mapped[bool | None] = mapped_column(Boolean)  # None: not scanned back yet
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    printer: Mapped[Printer] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
