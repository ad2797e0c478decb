"""Units, locations and printers belong to a site (decision 103). Everything there is belongs
to the installation's first site (the one migration 0015 made from the configuration), so an
installation of one site reads exactly as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 01:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("units", "locations", "printers")


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        # SQLite adds a column with a REFERENCES clause in place (as in 0010, no rebuild)
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN site_id INTEGER REFERENCES sites (id)")
        else:
            op.add_column(table, sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id")))
        op.execute(f"UPDATE {table} SET site_id = (SELECT min(id) FROM sites)")
    op.create_index("ix_units_site_id", "units", ["site_id"])
    op.create_index("ix_locations_site_id", "locations", ["site_id"])


def downgrade():
    op.drop_index("ix_locations_site_id", table_name="locations")
    op.drop_index("ix_units_site_id", table_name="units")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("site_id")
