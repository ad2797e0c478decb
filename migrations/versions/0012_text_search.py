"""Text-search indexes for the units list's search by name, record number or part of an
identifier (decision 95): trigram GIN indexes on PostgreSQL, FTS5 trigram tables kept by
triggers on SQLite. They are not in the models (``lims.models.search_index``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PG_INDEXES = (
    ("ix_patients_name_trgm", "patients", "name"),
    ("ix_patients_mrn_trgm", "patients", "mrn"),
    ("ix_units_din_trgm", "units", "din"),
)
# table, columns, its search table
SQLITE_SEARCH = (("patients", ("name", "mrn"), "patients_search"), ("units", ("din",), "units_search"))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # fastupdate off: a new row goes into the index at once instead of a pending list that
        # every search would read through until a vacuum merges it (decision 95)
        for name, table, column in PG_INDEXES:
            op.execute(
                f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops) "
                "WITH (fastupdate = off)"
            )
        return
    for table, columns, search in SQLITE_SEARCH:
        listed = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {search} USING fts5({listed}, content='{table}', "
            f"content_rowid='id', tokenize='trigram')"
        )
        insert = f"INSERT INTO {search}(rowid, {listed}) VALUES (new.id, {new});"
        delete = f"INSERT INTO {search}({search}, rowid, {listed}) VALUES ('delete', old.id, {old});"
        op.execute(f"CREATE TRIGGER {search}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {search}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {search}_update AFTER UPDATE OF {listed} ON {table} "
            f"BEGIN {delete} {insert} END"
        )
        op.execute(f"INSERT INTO {search}({search}) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return  # the extension stays: other databases' objects may use it
    for _table, _columns, search in SQLITE_SEARCH:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {search}_{event}")
        op.execute(f"DROP TABLE IF EXISTS {search}")
