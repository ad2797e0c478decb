"""Sites of the network: the clinics that collect, the laboratories that process or test, and
who belongs to which (decision 101).

A site's ``code`` is its ISBT 128 facility identification number: every identifier the site
prints (DINs, wristbands, location labels) begins with it, so it is fixed once registered.
Membership is a plain association (``user_sites``); ``User.sites`` is defined here, from the
site's side, so the account model stays as it is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    ScalarSelect,
    String,
    Table,
    Text,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow
from .user import User

SITE_KINDS = ("clinic", "processing_lab", "testing_lab")

user_sites = Table(
    "user_sites",
    db.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("site_id", ForeignKey("sites.id"), primary_key=True, index=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)


class Site(db.Model):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)  # ISBT 128 facility number
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64))  # an IANA zone name
    kind: Mapped[str] = mapped_column(String(20))  # SITE_KINDS
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[User]] = relationship(
        secondary=user_sites,
        order_by=User.username,
        backref=backref("sites", order_by="Site.code"),
    )

    def __repr__(self) -> str:
        return f"<Site {self.code} {self.name}>"


def missing_sites() -> ScalarSelect[int]:
    """For a query of ``User``: how many active sites the person is not a member of
    (``User.sites_missing``, loaded with ``with_expression``)."""
    return (
        select(func.count())
        .select_from(Site)
        .where(
            Site.active.is_(True),
            ~exists()
            .where(user_sites.c.site_id == Site.id, user_sites.c.user_id == User.id)
            .correlate_except(user_sites),
        )
        .correlate(User)
        .scalar_subquery()
    )
