"""The treatment course after the product and its outcome (decisions 111–113): treatment
plans and their sessions, outcome assessments (append-only) and their photographs (append-only),
the reminders sent for visits, and adverse reactions.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 06:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

APPEND_ONLY = ("outcome_assessments", "assessment_photos")


def _append_only(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION lims_ledger_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION lims_ledger_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {event} refused'); END"
            )


def _drop_append_only(table):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def upgrade():
    op.create_table(
        "treatment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=15), nullable=False),
        sa.Column("indication", sa.String(length=40), nullable=False),
        sa.Column("stage_scale", sa.String(length=20), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=True),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("maintenance_months", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_treatment_plans_clinician_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["course_code"],
            ["therapy_courses.code"],
            name=op.f("fk_treatment_plans_course_code_therapy_courses"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_treatment_plans_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_treatment_plans_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_plans")),
        sa.UniqueConstraint("course_code", name=op.f("uq_treatment_plans_course_code")),
    )
    with op.batch_alter_table("treatment_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_plans_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "outcome_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(length=12), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.Column("hair_count", sa.Integer(), nullable=True),
        sa.Column("area_cm2", sa.Float(), nullable=True),
        sa.Column("density_per_cm2", sa.Float(), nullable=True),
        sa.Column("terminal_vellus_ratio", sa.Float(), nullable=True),
        sa.Column("shaft_diameter_um", sa.Float(), nullable=True),
        sa.Column("investigator_global", sa.Integer(), nullable=True),
        sa.Column("patient_global", sa.Integer(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("adverse_events", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["outcome_assessments.id"],
            name=op.f("fk_outcome_assessments_corrects_id_outcome_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outcome_assessments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["treatment_plans.id"],
            name=op.f("fk_outcome_assessments_plan_id_treatment_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_outcome_assessments_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_assessments")),
    )
    with op.batch_alter_table("outcome_assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_assessments_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_outcome_assessments_plan_visit", ["plan_id", "visit"], unique=False
        )

    op.create_table(
        "outcome_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["treatment_plans.id"],
            name=op.f("fk_outcome_reminders_plan_id_treatment_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_reminders")),
        sa.UniqueConstraint("plan_id", "visit", "kind", name="uq_outcome_reminders_once"),
    )
    op.create_table(
        "assessment_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("view", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_as", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["outcome_assessments.id"],
            name=op.f("fk_assessment_photos_assessment_id_outcome_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_assessment_photos_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_photos")),
    )
    with op.batch_alter_table("assessment_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_photos_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "treatment_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("product_type", sa.String(length=20), nullable=False),
        sa.Column("planned_at", sa.DateTime(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("administered_at", sa.DateTime(), nullable=True),
        sa.Column("dose_volume_ml", sa.Float(), nullable=True),
        sa.Column("dose_count", sa.BigInteger(), nullable=True),
        sa.Column("dose_basis", sa.String(length=30), nullable=True),
        sa.Column("dose_per_ml", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_treatment_sessions_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["treatment_plans.id"],
            name=op.f("fk_treatment_sessions_plan_id_treatment_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_treatment_sessions_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_sessions")),
        sa.UniqueConstraint("plan_id", "number", name="uq_treatment_sessions_number"),
    )
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_plan_id"), ["plan_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_treatment_sessions_unit_id"), ["unit_id"], unique=False
        )

    op.create_table(
        "adverse_reactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("onset_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("investigation", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_adverse_reactions_closed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_adverse_reactions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_adverse_reactions_reported_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_adverse_reactions_signature_id_signatures"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_adverse_reactions_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_reactions")),
    )
    with op.batch_alter_table("adverse_reactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adverse_reactions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_adverse_reactions_unit_id"), ["unit_id"], unique=False)
    for table in APPEND_ONLY:
        _append_only(table)


def downgrade():
    for table in APPEND_ONLY:
        _drop_append_only(table)
    with op.batch_alter_table("adverse_reactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_reactions_unit_id"))
        batch_op.drop_index(batch_op.f("ix_adverse_reactions_patient_id"))

    op.drop_table("adverse_reactions")
    with op.batch_alter_table("treatment_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_unit_id"))
        batch_op.drop_index(batch_op.f("ix_treatment_sessions_plan_id"))

    op.drop_table("treatment_sessions")
    with op.batch_alter_table("assessment_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_photos_assessment_id"))

    op.drop_table("assessment_photos")
    op.drop_table("outcome_reminders")
    with op.batch_alter_table("outcome_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_assessments_plan_visit")
        batch_op.drop_index(batch_op.f("ix_outcome_assessments_patient_id"))

    op.drop_table("outcome_assessments")
    with op.batch_alter_table("treatment_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_plans_patient_id"))

    op.drop_table("treatment_plans")
