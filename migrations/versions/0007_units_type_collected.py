"""units by type and collection time: the audit charts' period and the readiness board's
stage history read one product type's units collected since a moment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_units_type_collected', 'units', ['unit_type', 'collected_at'])


def downgrade():
    op.drop_index('ix_units_type_collected', table_name='units')
