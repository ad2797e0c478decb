"""The treatment course after the product (decisions 111–113): a plan per therapy
course, its sessions (each, once given, with the product and the dose), the outcome assessments
at the scheduled visits with their photographs, the reminders sent for them, and adverse
reactions.

Assessments and photographs are append-only (a correction is a new row citing the one it
corrects, as QC results are); every change of every row here is also a ledger entry.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .appointment import Appointment
from .course import TherapyCourse
from .patient import Patient
from .qc import Signature
from .types import UTCDateTime, utcnow
from .unit import Unit
from .user import User


class TreatmentPlan(db.Model):
    """One patient's plan for one therapy course: what is treated, how far it has gone, and
    the sessions planned (initial, then maintenance every N months)."""

    __tablename__ = "treatment_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    course_code: Mapped[str] = mapped_column(ForeignKey("therapy_courses.code"), unique=True)
    indication: Mapped[str] = mapped_column(String(40))  # domain.treatment.INDICATIONS
    stage_scale: Mapped[str | None] = mapped_column(String(20))  # domain.treatment.SCALES
    stage: Mapped[str | None] = mapped_column(String(20))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    maintenance_months: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient: Mapped[Patient] = relationship()
    course: Mapped[TherapyCourse] = relationship()
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id])
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="plan", order_by="TreatmentSession.number"
    )


class TreatmentSession(db.Model):
    """One planned treatment: which product type, when (an injection appointment books it),
    and once given, the product and the dose computed from its QC."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_treatment_sessions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # domain.treatment.SESSION_KINDS
    product_type: Mapped[str] = mapped_column(String(20))  # domain.treatment.SESSION_PRODUCTS
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    status: Mapped[str] = mapped_column(String(10), default="planned")
    # Once given (the product's ``administer``):
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    administered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dose_volume_ml: Mapped[float | None] = mapped_column(Float)
    dose_count: Mapped[int | None] = mapped_column(BigInteger)  # cells or platelets given
    dose_basis: Mapped[str | None] = mapped_column(String(30))  # the QC test it came from
    dose_per_ml: Mapped[float | None] = mapped_column(Float)

    plan: Mapped[TreatmentPlan] = relationship(back_populates="sessions")
    appointment: Mapped[Appointment | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class OutcomeAssessment(db.Model):
    """What was measured at one outcome visit. Append-only: a correction is a new row that
    ``corrects`` the earlier one, with a reason; the current value is the latest."""

    __tablename__ = "outcome_assessments"
    __table_args__ = (Index("ix_outcome_assessments_plan_visit", "plan_id", "visit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit: Mapped[str] = mapped_column(String(12))  # "baseline", "month_3" …
    months: Mapped[int] = mapped_column(Integer)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hair_count: Mapped[int | None] = mapped_column(Integer)
    area_cm2: Mapped[float | None] = mapped_column(Float)
    density_per_cm2: Mapped[float | None] = mapped_column(Float)
    terminal_vellus_ratio: Mapped[float | None] = mapped_column(Float)
    shaft_diameter_um: Mapped[float | None] = mapped_column(Float)
    investigator_global: Mapped[int | None] = mapped_column(Integer)
    patient_global: Mapped[int | None] = mapped_column(Integer)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    adverse_events: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("outcome_assessments.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why a correction was made
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[TreatmentPlan] = relationship()
    recorded_by: Mapped[User] = relationship()


class AssessmentPhoto(db.Model):
    """A global photograph of a visit, in a standard view; the file is stored outside the
    database and its SHA-256 checked each time it is read. Append-only."""

    __tablename__ = "assessment_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("outcome_assessments.id"), index=True)
    view: Mapped[str] = mapped_column(String(20))  # domain.treatment.PHOTO_VIEWS
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(200))  # relative to PHOTO_DIR
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutcomeReminder(db.Model):
    """That the clinician was told a visit is due, or overdue: at most once each (the unique
    key), whatever how often beat runs."""

    __tablename__ = "outcome_reminders"
    __table_args__ = (
        UniqueConstraint("plan_id", "visit", "kind", name="uq_outcome_reminders_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id"))
    visit: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(10))  # due, overdue
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdverseReaction(db.Model):
    """An adverse reaction after a product was given (21 CFR 1271.350): reported, raised to
    QA at once, investigated and closed by QA's signed decision."""

    __tablename__ = "adverse_reactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the product
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(20))  # domain.treatment.SEVERITIES
    relation: Mapped[str] = mapped_column(String(20))  # domain.treatment.RELATIONS
    status: Mapped[str] = mapped_column(String(10), default="open")
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    investigation: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)  # QA's conclusion
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"))

    patient: Mapped[Patient] = relationship()
    unit: Mapped[Unit] = relationship()
    reported_by: Mapped[User] = relationship(foreign_keys=[reported_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    signature: Mapped[Signature | None] = relationship()
