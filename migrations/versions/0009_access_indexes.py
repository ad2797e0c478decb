"""Indexes for who may see which patient (decision 61): the units a clinician collected and
the patients a clinician treats, so a clinician's list does not read every unit and patient.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 03:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_units_collected_by_id', 'units', ['collected_by_id'])
    op.create_index('ix_patients_clinician_id', 'patients', ['clinician_id'])


def downgrade():
    op.drop_index('ix_patients_clinician_id', table_name='patients')
    op.drop_index('ix_units_collected_by_id', table_name='units')
