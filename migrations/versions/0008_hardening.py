"""Hardening: head receipts only move forward; a password an admin set must be changed; a
clinician may be granted every patient.

- ``ledger_receipts``: an INSERT whose ``seq`` is not above every stored receipt's is refused
  by a trigger, so receipts are unique per head and never go back (an older genuine receipt
  re-inserted cannot hide a cut tail, decision 59). Receipts stored before this keep their
  order; none is changed.
- ``users.must_change_password``: set when an admin sets a person's password (decision 65).
- ``users.all_patients``: an admin's grant for a clinician to see every patient (decision 61).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 02:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION lims_receipts_move_forward() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_receipts WHERE seq >= NEW.seq) THEN
        RAISE EXCEPTION 'head receipt for entry #% refused: a receipt at or after it exists', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(
            sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column('all_patients', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index('ix_ledger_receipts_seq', 'ledger_receipts', ['seq'])
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(
            'CREATE TRIGGER ledger_receipts_move_forward BEFORE INSERT ON ledger_receipts '
            'FOR EACH ROW EXECUTE FUNCTION lims_receipts_move_forward()'
        )
    else:
        op.execute(
            'CREATE TRIGGER ledger_receipts_move_forward BEFORE INSERT ON ledger_receipts '
            'WHEN EXISTS (SELECT 1 FROM ledger_receipts WHERE seq >= NEW.seq) '
            "BEGIN SELECT RAISE(ABORT, 'head receipt refused: a receipt at or after its entry "
            "exists'); END"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS ledger_receipts_move_forward ON ledger_receipts')
        op.execute('DROP FUNCTION IF EXISTS lims_receipts_move_forward()')
    else:
        op.execute('DROP TRIGGER IF EXISTS ledger_receipts_move_forward')
    op.drop_index('ix_ledger_receipts_seq', table_name='ledger_receipts')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('all_patients')
        batch.drop_column('must_change_password')
