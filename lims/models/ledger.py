"""The custody ledger table. Rows are written only by ``lims.services.ledger.append``;
the database refuses UPDATE, DELETE and TRUNCATE on it (see ``ledger_triggers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.ledger_chain import HASHED_FIELDS
from ..extensions import db
from .types import UTCDateTime
from .user import User


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    # Audit search filters on one of these and pages by seq, newest first.
    __table_args__ = (
        Index("ix_ledger_unit_seq", "unit_id", "seq"),
        Index("ix_ledger_actor_seq", "actor_id", "seq"),
        Index("ix_ledger_action_seq", "action", "seq"),
        Index("ix_ledger_to_status_seq", "to_status", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    din: Mapped[str | None] = mapped_column(String(13), index=True)
    product_code: Mapped[str | None] = mapped_column(String(8))
    division: Mapped[str | None] = mapped_column(String(2))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    from_custodian_id: Mapped[int | None] = mapped_column(Integer)
    to_custodian_id: Mapped[int | None] = mapped_column(Integer)
    from_location_id: Mapped[int | None] = mapped_column(Integer)
    to_location_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    reason: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User] = relationship()

    def hashed_content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HASHED_FIELDS}


class LedgerReceipt(db.Model):
    """A signed statement of the ledger head at a moment; kept outside too, it exposes a cut tail."""

    __tablename__ = "ledger_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A trigger refuses a receipt whose seq is not above every stored one (migration 0008).
    seq: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(String(64))


LEDGER_TABLES = ("ledger_entries", "ledger_receipts")
