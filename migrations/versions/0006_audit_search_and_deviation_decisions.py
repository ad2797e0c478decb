"""audit search and deviation decisions: the ledger indexes that audit search pages by
(filter column, seq), replacing the single-column ones; QA's signed decision on a deviation.
The ledger's indexes change with plain CREATE/DROP INDEX, never a batch copy of the table,
so its append-only triggers stay as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 08:22:40.663703

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signature_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deviations_closed_by_id_users'), 'users', ['closed_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_deviations_signature_id_signatures'), 'signatures', ['signature_id'], ['id'])

    op.drop_index('ix_ledger_entries_action', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_actor_id', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_unit_id', table_name='ledger_entries')
    op.create_index('ix_ledger_action_seq', 'ledger_entries', ['action', 'seq'])
    op.create_index('ix_ledger_actor_seq', 'ledger_entries', ['actor_id', 'seq'])
    op.create_index('ix_ledger_to_status_seq', 'ledger_entries', ['to_status', 'seq'])
    op.create_index('ix_ledger_unit_seq', 'ledger_entries', ['unit_id', 'seq'])



def downgrade():
    op.drop_index('ix_ledger_unit_seq', table_name='ledger_entries')
    op.drop_index('ix_ledger_to_status_seq', table_name='ledger_entries')
    op.drop_index('ix_ledger_actor_seq', table_name='ledger_entries')
    op.drop_index('ix_ledger_action_seq', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_unit_id', 'ledger_entries', ['unit_id'])
    op.create_index('ix_ledger_entries_actor_id', 'ledger_entries', ['actor_id'])
    op.create_index('ix_ledger_entries_action', 'ledger_entries', ['action'])

    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deviations_signature_id_signatures'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_deviations_closed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('signature_id')
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decision')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('closed_at')

