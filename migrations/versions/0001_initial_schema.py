"""initial schema: users, patients, locations, units, ledger

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:00:52.391147


Includes the append-only triggers on the ledger tables: the database itself refuses
UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ledger_entries and ledger_receipts.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


LEDGER_TABLES = ("ledger_entries", "ledger_receipts")

PG_FUNCTION = """
CREATE FUNCTION lims_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def create_ledger_triggers():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in LEDGER_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION lims_ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION lims_ledger_append_only()"
            )
    elif dialect == "sqlite":
        for table in LEDGER_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: "
                    f"{event} refused'); END"
                )
    else:
        raise RuntimeError(
            f"no append-only triggers for {dialect}; refusing to create the ledger"
        )


def drop_ledger_triggers():
    dialect = op.get_bind().dialect.name
    for table in LEDGER_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lims_ledger_append_only()")


def upgrade():
    op.create_table(
        "identifier_sequences",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "year", name=op.f("pk_identifier_sequences")),
    )
    op.create_table(
        "ledger_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_receipts")),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["locations.id"],
            name=op.f("fk_locations_parent_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_locations_code")),
    )
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_locations_parent_id"), ["parent_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("wristband", sa.String(length=16), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("diagnosis", sa.String(length=80), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_patients_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
        sa.UniqueConstraint("wristband", name=op.f("uq_patients_wristband")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("din", sa.String(length=13), nullable=False),
        sa.Column("check_character", sa.String(length=1), nullable=False),
        sa.Column("product_code", sa.String(length=8), nullable=False),
        sa.Column("division", sa.String(length=2), nullable=False),
        sa.Column("unit_type", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("custodian_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column(
            "volume_ml",
            sa.Numeric(precision=10, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column("cell_count", sa.BigInteger(), nullable=True),
        sa.Column("collection_site", sa.String(length=120), nullable=True),
        sa.Column("collected_at", sa.DateTime(), nullable=False),
        sa.Column("collected_by_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("processing_started_at", sa.DateTime(), nullable=True),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("deviation", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collected_by_id"],
            ["users.id"],
            name=op.f("fk_units_collected_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["custodian_id"], ["users.id"], name=op.f("fk_units_custodian_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_units_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["units.id"], name=op.f("fk_units_parent_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_units_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint(
            "din", "product_code", "division", name="uq_units_identity"
        ),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_din"), ["din"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_units_parent_id"), ["parent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_units_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_units_status_id", ["status", "id"], unique=False
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("din", sa.String(length=13), nullable=True),
        sa.Column("product_code", sa.String(length=8), nullable=True),
        sa.Column("division", sa.String(length=2), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("from_custodian_id", sa.Integer(), nullable=True),
        sa.Column("to_custodian_id", sa.Integer(), nullable=True),
        sa.Column("from_location_id", sa.Integer(), nullable=True),
        sa.Column("to_location_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_ledger_entries_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_corrects_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_ledger_entries_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("seq", name=op.f("uq_ledger_entries_seq")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_action"), ["action"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_din"), ["din"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_recorded_at"), ["recorded_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_unit_id"), ["unit_id"], unique=False
        )

    create_ledger_triggers()


def downgrade():
    drop_ledger_triggers()
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_unit_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_din"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_actor_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_action"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index("ix_units_status_id")
        batch_op.drop_index(batch_op.f("ix_units_patient_id"))
        batch_op.drop_index(batch_op.f("ix_units_parent_id"))
        batch_op.drop_index(batch_op.f("ix_units_din"))

    op.drop_table("units")
    op.drop_table("patients")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_locations_parent_id"))

    op.drop_table("locations")
    op.drop_table("ledger_receipts")
    op.drop_table("identifier_sequences")
