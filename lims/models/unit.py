from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    Mapped,
    aliased,
    mapped_column,
    query_expression,
    relationship,
)
from sqlalchemy.sql.functions import GenericFunction

from ..domain import identifiers
from ..domain.catalogue import UnitType, unit_type
from ..domain.lifecycle import Status
from ..extensions import db
from .location import Location
from .patient import Patient
from .types import UTCDateTime, utcnow
from .user import User


class UnitReading:
    """What a unit's columns say, read the same way by ``Unit`` and by views built from the
    same columns (the readiness board's ``BoardUnit``)."""

    __slots__ = ()
    din: str
    check_character: str
    product_code: str
    division: str
    unit_type: str
    status: str

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def kind(self) -> UnitType:
        return unit_type(self.unit_type)

    @property
    def barcode_data(self) -> str:
        return identifiers.barcode_data(self.din)

    @property
    def eye_readable(self) -> str:
        return identifiers.eye_readable(self.din)

    @property
    def label(self) -> str:
        """Identifier, product code and division: unique for the unit."""
        return f"{self.din}{self.check_character} {self.product_code} {self.division}"


class Unit(UnitReading, db.Model):
    """A container of material: a source sample or a product derived from one.

    All units of one collection share the DIN; product code and division tell them apart.
    """

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("din", "product_code", "division", name="uq_units_identity"),
        Index("ix_units_status_id", "status", "id"),
        # The audit charts and the board's history read one type's units by collection time.
        Index("ix_units_type_collected", "unit_type", "collected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    din: Mapped[str] = mapped_column(String(13), index=True)
    check_character: Mapped[str] = mapped_column(String(1))
    product_code: Mapped[str] = mapped_column(String(8))
    division: Mapped[str] = mapped_column(String(2), default="00")
    unit_type: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    # The site that holds the unit: where it was collected, then where a shipment took it
    # (decision 103). A person sees the units of the sites they belong to.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    # The therapy course's chain-of-identity identifier (decision 104): given at registration,
    # inherited by every product made or split from the collection, never changed.
    chain_of_identity: Mapped[str | None] = mapped_column(
        ForeignKey("therapy_courses.code"), index=True
    )
    volume_ml: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False))
    cell_count: Mapped[int | None] = mapped_column(BigInteger)
    collection_site: Mapped[str | None] = mapped_column(String(120))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The collection's donor testing, "performed" or "not_performed", recorded at registration
    # and inherited by its products; None: not recorded (decision 99).
    donor_testing: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deviation: Mapped[bool] = mapped_column(Boolean, default=False)
    thawed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exceptional_release: Mapped[bool] = mapped_column(Boolean, default=False)
    administered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a result arrives that must stop the unit reaching a patient (a positive
    # sterility culture after release): dispense and administer refuse it.
    qc_alert: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship()
    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.id")
    custodian: Mapped[User | None] = relationship(foreign_keys=[custodian_id])
    collected_by: Mapped[User | None] = relationship(foreign_keys=[collected_by_id])
    location: Mapped[Location | None] = relationship()
    # The children's ids as "3,4" ("" for none), when a reader loads them with the unit in one
    # statement (``with_expression(Unit.children_listed, children_listed())``); else None.
    children_listed: Mapped[str | None] = query_expression()

    @property
    def child_ids(self) -> list[int]:
        """The ids of the units made or split from this one, in order."""
        if self.children_listed is None:
            return [child.id for child in self.children]
        return sorted(int(i) for i in self.children_listed.split(",") if i)

    def lineage(self) -> list[Unit]:
        """This unit, the unit it was made or split from, and so on up to the collection."""
        chain, node = [], self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def custodian_name(self) -> str | None:
        return self.custodian.full_name if self.custodian else None

    def __repr__(self) -> str:
        return f"<Unit {self.label} {self.status}>"


class IdentifierSequence(db.Model):
    """The next DIN sequence number per facility and year (product §2)."""

    __tablename__ = "identifier_sequences"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class id_list(GenericFunction):
    """Integers joined by commas, in no particular order (an aggregate)."""

    type = String()
    inherit_cache = True


@compiles(id_list, "postgresql")
def _id_list_postgresql(element, compiler, **kw):
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS TEXT), ',')"


@compiles(id_list, "sqlite")
def _id_list_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


def children_listed():
    """A correlated subquery: the ids of ``Unit``'s children (see ``Unit.children_listed``)."""
    child = aliased(Unit)
    return (
        select(func.coalesce(id_list(child.id), ""))
        .where(child.parent_id == Unit.id)
        .scalar_subquery()
    )
