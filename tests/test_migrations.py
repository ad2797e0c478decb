"""The migrations and the models agree (issue 2): after ``flask db upgrade`` autogenerate
finds nothing to do, the ledger triggers exist, and downgrade/upgrade round-trips."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lims.extensions import db

TABLES = {
    "api_tokens",
    "identifier_sequences",
    "ledger_entries",
    "ledger_receipts",
    "locations",
    "patients",
    "units",
    "users",
}


def schema_diff() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def ledger_triggers() -> set[str]:
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {row[0] for row in connection.exec_driver_sql(query)}


@pytest.fixture
def quiet_app(app):
    """Nothing of the test's own session may hold a lock while the schema changes."""
    db.session.remove()
    return app


def test_the_migrated_database_matches_the_models(quiet_app):
    assert tables() == TABLES
    assert schema_diff() == []


def test_the_ledger_triggers_are_created(quiet_app):
    expected = (
        {
            "ledger_entries_no_update_delete",
            "ledger_entries_no_truncate",
            "ledger_receipts_no_update_delete",
            "ledger_receipts_no_truncate",
        }
        if db.engine.dialect.name == "postgresql"
        else {
            "ledger_entries_no_update",
            "ledger_entries_no_delete",
            "ledger_receipts_no_update",
            "ledger_receipts_no_delete",
        }
    )
    assert ledger_triggers() == expected


def test_downgrade_to_base_and_upgrade_again(quiet_app):
    downgrade(revision="base")
    assert tables() == set()
    assert ledger_triggers() == set()
    upgrade()
    assert tables() == TABLES
    assert schema_diff() == []
    assert len(ledger_triggers()) == 4
