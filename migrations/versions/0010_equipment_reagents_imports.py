"""Equipment, reagent lots and instrument result imports.

- ``equipment`` and its append-only ``equipment_records`` (calibration, qualification,
  maintenance);
- ``reagent_lots``, received and accepted by QA (the acceptance is a signed ledger entry);
- ``material_uses``: which item or lot touched which unit, by which ledger entry (append-only;
  the recall look-ups read it);
- ``qc_imports``: an instrument file, its preview and its confirmation;
- ``qc_results.equipment_id`` and ``qc_results.source`` (``<sha256>:<row>``, unique: a file
  imported twice imports each row once); ``deviations.equipment_id`` (a deviation that permits
  one use of equipment the register would refuse).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:30:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APPEND_ONLY = ("equipment_records", "material_uses")


def _append_only(table):
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
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


def _add_equipment_column(table):
    """``<table>.equipment_id`` referencing equipment, without rebuilding the table.

    SQLite adds a column with a REFERENCES clause in place (Alembic would ask for a rebuild,
    which would drop the table's triggers and rows' referents); PostgreSQL adds it directly.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN equipment_id INTEGER REFERENCES equipment (id)")
    else:
        op.add_column(table, sa.Column("equipment_id", sa.Integer(), sa.ForeignKey("equipment.id")))


def upgrade():
    op.create_table(
        "equipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("serial_number", sa.String(length=80), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("calibration_interval_days", sa.Integer(), nullable=True),
        sa.Column("calibration_valid_until", sa.Date(), nullable=True),
        sa.Column("maintenance_interval_days", sa.Integer(), nullable=True),
        sa.Column("maintenance_due_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "equipment_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("performed_by", sa.String(length=120), nullable=False),
        sa.Column("certificate_ref", sa.String(length=120), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_equipment_records_item", "equipment_records", ["equipment_id", "id"])
    op.create_table(
        "reagent_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reagent", sa.String(length=60), nullable=False),
        sa.Column("product_name", sa.String(length=120), nullable=False),
        sa.Column("manufacturer", sa.String(length=120), nullable=False),
        sa.Column("lot_number", sa.String(length=60), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("storage", sa.String(length=120), nullable=False),
        sa.Column("quantity_received", sa.Float(), nullable=False),
        sa.Column("quantity_remaining", sa.Float(), nullable=False),
        sa.Column("quantity_unit", sa.String(length=10), nullable=False),
        sa.Column("coa_ref", sa.String(length=120), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("acceptance_entry_id", sa.Integer(), nullable=True),
        sa.Column("flagged", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["acceptance_entry_id"], ["ledger_entries.id"]),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("manufacturer", "product_name", "lot_number", name="uq_reagent_lots"),
    )
    _add_equipment_column("deviations")
    op.create_table(
        "material_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("equipment_id", sa.Integer(), nullable=True),
        sa.Column("reagent_lot_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("calibration_valid_until", sa.Date(), nullable=True),
        sa.Column("deviation_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["deviation_id"], ["deviations.id"]),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"]),
        sa.ForeignKeyConstraint(["ledger_entry_id"], ["ledger_entries.id"]),
        sa.ForeignKeyConstraint(["reagent_lot_id"], ["reagent_lots.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_material_uses_equipment", "material_uses", ["equipment_id", "id"])
    op.create_index("ix_material_uses_lot", "material_uses", ["reagent_lot_id", "id"])
    op.create_index("ix_material_uses_unit", "material_uses", ["unit_id", "id"])
    op.create_table(
        "qc_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("equipment_id", sa.Integer(), nullable=True),
        sa.Column("mapping", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("imported_count", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["equipment_id"], ["equipment.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_qc_imports_sha256", "qc_imports", ["sha256"])
    # qc_results is append-only: ADD COLUMN keeps its rows and its triggers (no table rebuild).
    _add_equipment_column("qc_results")
    op.add_column("qc_results", sa.Column("source", sa.String(length=80), nullable=True))
    op.create_index("uq_qc_results_source", "qc_results", ["source"], unique=True)
    for table in APPEND_ONLY:
        _append_only(table)


def downgrade():
    for table in APPEND_ONLY:
        _drop_append_only(table)
    op.drop_index("uq_qc_results_source", table_name="qc_results")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to drop a column with a foreign key: its append-only
        # triggers go with the old table and are made again for the new one.
        op.execute("DROP TRIGGER IF EXISTS qc_results_no_update")
        op.execute("DROP TRIGGER IF EXISTS qc_results_no_delete")
    with op.batch_alter_table("qc_results") as batch:
        batch.drop_column("source")
        batch.drop_column("equipment_id")
    if sqlite:
        _append_only("qc_results")
    op.drop_index("ix_qc_imports_sha256", table_name="qc_imports")
    op.drop_table("qc_imports")
    op.drop_index("ix_material_uses_unit", table_name="material_uses")
    op.drop_index("ix_material_uses_lot", table_name="material_uses")
    op.drop_index("ix_material_uses_equipment", table_name="material_uses")
    op.drop_table("material_uses")
    with op.batch_alter_table("deviations") as batch:
        batch.drop_column("equipment_id")
    op.drop_table("reagent_lots")
    op.drop_index("ix_equipment_records_item", table_name="equipment_records")
    op.drop_table("equipment_records")
    op.drop_table("equipment")
