"""Long jobs (a verification of the whole ledger) that run outside the request, with the
progress a page polls.

A job row is written by the one process that runs it, in short transactions of its own
(claim, a progress update about every 1 %, the end), so that a page reading it never waits
for the job and the job never waits for a page.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User

JOB_KINDS = ("ledger_verify", "ledger_quick_verify")
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)  # JSON, when done
    error: Mapped[str | None] = mapped_column(Text)  # why it failed (not the verdict)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    started_by: Mapped[User] = relationship()

    @property
    def data(self) -> dict[str, Any] | None:
        return json.loads(self.result) if self.result else None
