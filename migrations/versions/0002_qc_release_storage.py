"""qc, release, storage: QC specifications, results, deviations, signatures; box grids;
thaw, release and administration times on units.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:39:26.645635

QC results, specification versions and signatures are append-only like the ledger: the
database refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) on them. The PostgreSQL
trigger function made by 0001 is reused.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


APPEND_ONLY = ("qc_specs", "qc_results", "signatures")


def create_append_only_triggers():
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION lims_ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION lims_ledger_append_only()"
            )
        elif dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: "
                    f"{event} refused'); END"
                )
        else:
            raise RuntimeError(f"no append-only triggers for {dialect}")


def drop_append_only_triggers():
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def upgrade():
    op.create_table('qc_specs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_type', sa.String(length=20), nullable=False),
    sa.Column('test', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=2), nullable=True),
    sa.Column('limit', sa.Float(), nullable=True),
    sa.Column('accept', sa.Text(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('pending_at_release', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_qc_specs_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_specs')),
    sa.UniqueConstraint('product_type', 'test', 'version', name='uq_qc_specs')
    )
    op.create_table('qc_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('test', sa.String(length=40), nullable=False),
    sa.Column('value_number', sa.Float(), nullable=True),
    sa.Column('value_text', sa.String(length=40), nullable=True),
    sa.Column('method', sa.String(length=120), nullable=False),
    sa.Column('lot', sa.String(length=40), nullable=False),
    sa.Column('spec_version', sa.Integer(), nullable=False),
    sa.Column('spec', sa.Text(), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['corrects_id'], ['qc_results.id'], name=op.f('fk_qc_results_corrects_id_qc_results')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_qc_results_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_qc_results_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_results'))
    )
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_results_unit_id'), ['unit_id'], unique=False)

    op.create_table('deviations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('qc_result_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_deviations_opened_by_id_users')),
    sa.ForeignKeyConstraint(['qc_result_id'], ['qc_results.id'], name=op.f('fk_deviations_qc_result_id_qc_results')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_deviations_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deviations'))
    )
    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deviations_unit_id'), ['unit_id'], unique=False)

    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('printed_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('meaning', sa.String(length=40), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entries.id'], name=op.f('fk_signatures_ledger_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['signer_id'], ['users.id'], name=op.f('fk_signatures_signer_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_signatures_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grid_rows', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grid_columns', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grid_row', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grid_column', sa.Integer(), nullable=True))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thawed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('released_at', sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('exceptional_release', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('administered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('qc_alert', sa.String(length=200), nullable=True))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.alter_column('exceptional_release', server_default=None)

    create_append_only_triggers()


def downgrade():
    drop_append_only_triggers()
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('qc_alert')
        batch_op.drop_column('administered_at')
        batch_op.drop_column('exceptional_release')
        batch_op.drop_column('released_at')
        batch_op.drop_column('thawed_at')

    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_column('grid_column')
        batch_op.drop_column('grid_row')
        batch_op.drop_column('grid_columns')
        batch_op.drop_column('grid_rows')

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_unit_id'))

    op.drop_table('signatures')
    with op.batch_alter_table('deviations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deviations_unit_id'))

    op.drop_table('deviations')
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_results_unit_id'))

    op.drop_table('qc_results')
    op.drop_table('qc_specs')
