"""units.donor_testing: whether the donor's infectious disease testing was performed for the
collection ("performed", "not_performed"), recorded at registration and inherited by its
products. Units registered before are NULL, not recorded: their labels carry "NOT EVALUATED
FOR INFECTIOUS SUBSTANCES", as for a collection not tested (decision 99).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN, no table rebuild: the units' search triggers (0012) stay as they are.
    op.add_column("units", sa.Column("donor_testing", sa.String(length=20), nullable=True))


def downgrade():
    # SQLite (3.35 and later) drops a column no index or trigger names without a rebuild too.
    op.execute("ALTER TABLE units DROP COLUMN donor_testing")
