"""Label printers, print rules and print jobs (decision 100).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "printers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=120), nullable=True),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("stock", sa.String(length=20), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "print_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=20), nullable=True),
        sa.Column("workstation", sa.String(length=60), nullable=True),
        sa.Column("network", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["printer_id"], ["printers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=20), nullable=False),
        sa.Column("stock", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("barcode_data", sa.String(length=80), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("workstation", sa.String(length=60), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("scanned", sa.String(length=200), nullable=True),
        sa.Column("scan_matched", sa.Boolean(), nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("destroyed_by_id", sa.Integer(), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["checked_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["destroyed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["printer_id"], ["printers.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_print_jobs_unit", "print_jobs", ["unit_id", "id"])
    op.create_index("ix_print_jobs_created", "print_jobs", ["created_at"])


def downgrade():
    op.drop_index("ix_print_jobs_created", table_name="print_jobs")
    op.drop_index("ix_print_jobs_unit", table_name="print_jobs")
    op.drop_table("print_jobs")
    op.drop_table("print_rules")
    op.drop_table("printers")
