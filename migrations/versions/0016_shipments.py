"""Shipments between sites and their items; a deviation may name the shipment it was opened
for (decision 102).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("from_site_id", sa.Integer(), nullable=False),
        sa.Column("to_site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("container", sa.String(length=120), nullable=False),
        sa.Column("courier", sa.String(length=120), nullable=False),
        sa.Column("tracking_number", sa.String(length=80), nullable=True),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("logger_id", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("packed_by_id", sa.Integer(), nullable=True),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("expected_by", sa.DateTime(), nullable=True),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("arrival_temperature_c", sa.Float(), nullable=True),
        sa.Column("receipt_note", sa.Text(), nullable=True),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["from_site_id"], ["sites.id"]),
        sa.ForeignKeyConstraint(["to_site_id"], ["sites.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["packed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["checked_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(
        "ix_shipments_status_expected", "shipments", ["status", "expected_by"], unique=False
    )
    op.create_table(
        "shipment_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("scanned", sa.String(length=200), nullable=True),
        sa.Column("on_manifest", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("deviation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["deviation_id"], ["deviations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shipment_id", "unit_id", name="uq_shipment_items_unit"),
    )
    op.create_index("ix_shipment_items_shipment_id", "shipment_items", ["shipment_id"])
    op.create_index("ix_shipment_items_unit_id", "shipment_items", ["unit_id"])
    # SQLite adds a column with a REFERENCES clause in place (as in 0010, no table rebuild).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE deviations ADD COLUMN shipment_id INTEGER REFERENCES shipments (id)")
    else:
        op.add_column(
            "deviations",
            sa.Column("shipment_id", sa.Integer(), sa.ForeignKey("shipments.id"), nullable=True),
        )


def downgrade():
    with op.batch_alter_table("deviations") as batch:
        batch.drop_column("shipment_id")
    op.drop_index("ix_shipment_items_unit_id", table_name="shipment_items")
    op.drop_index("ix_shipment_items_shipment_id", table_name="shipment_items")
    op.drop_table("shipment_items")
    op.drop_index("ix_shipments_status_expected", table_name="shipments")
    op.drop_table("shipments")
