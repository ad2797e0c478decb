"""Certificates of release and validation reports.

- ``release_certificates``: each certificate as issued (its frozen content and SHA-256, the
  ledger entry that issued it, the one it replaces); append-only, like the ledger.
- ``validation_reports``: each generated validation report (data, HTML, PDF, SHA-256) and
  QA's signed approval.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:30:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


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


def upgrade():
    op.create_table(
        "release_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["replaces_id"], ["release_certificates.id"]),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["ledger_entry_id"], ["ledger_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "number", name="uq_release_certificates"),
    )
    op.create_index(
        "ix_release_certificates_unit_id", "release_certificates", ["unit_id"], unique=False
    )
    _append_only("release_certificates")
    op.create_table(
        "validation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("generated_by", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("requirements_met", sa.Integer(), nullable=False),
        sa.Column("requirements_total", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_entry_id", sa.Integer(), nullable=True),
        sa.Column("approved_entry_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["recorded_entry_id"], ["ledger_entries.id"]),
        sa.ForeignKeyConstraint(["approved_entry_id"], ["ledger_entries.id"]),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index(
        "ix_validation_reports_generated_at", "validation_reports", ["generated_at"], unique=False
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS release_certificates_no_update_delete ON release_certificates"
        )
        op.execute(
            "DROP TRIGGER IF EXISTS release_certificates_no_truncate ON release_certificates"
        )
    op.drop_index("ix_validation_reports_generated_at", table_name="validation_reports")
    op.drop_table("validation_reports")
    op.drop_index("ix_release_certificates_unit_id", table_name="release_certificates")
    op.drop_table("release_certificates")
