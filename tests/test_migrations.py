"""The migrations and the models agree: after ``flask db upgrade`` autogenerate
finds nothing to do, the ledger triggers exist, and downgrade/upgrade round-trips."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lims.extensions import db
from lims.models.search_index import SQLITE_TABLES, in_models

TABLES = {
    "api_tokens",
    "therapy_courses",
    "treatment_plans",
    "treatment_sessions",
    "outcome_assessments",
    "assessment_photos",
    "outcome_reminders",
    "adverse_reactions",
    "equipment",
    "printers",
    "print_rules",
    "print_jobs",
    "equipment_records",
    "reagent_lots",
    "material_uses",
    "qc_imports",
    "data_imports",
    "release_certificates",
    "validation_reports",
    "appointments",
    "deliveries",
    "deviations",
    "notification_preferences",
    "notifications",
    "outbox_events",
    "qc_results",
    "qc_specs",
    "signatures",
    "sites",
    "user_sites",
    "shipments",
    "shipment_items",
    "identifier_sequences",
    "jobs",
    "ledger_entries",
    "ledger_receipts",
    "locations",
    "patients",
    "units",
    "users",
}


def schema_diff() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": in_models}
        )
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    names = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not name.startswith(SQLITE_TABLES)}


def ledger_triggers() -> set[str]:
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        names = {row[0] for row in connection.exec_driver_sql(query)}
        return {name for name in names if not name.startswith(SQLITE_TABLES)}


@pytest.fixture
def quiet_app(app):
    """Nothing of the test's own session may hold a lock while the schema changes."""
    db.session.remove()
    return app


def test_the_migrated_database_matches_the_models(quiet_app):
    assert tables() == TABLES
    assert schema_diff() == []


APPEND_ONLY = (
    "ledger_entries",
    "ledger_receipts",
    "qc_specs",
    "qc_results",
    "signatures",
    "equipment_records",
    "material_uses",
    "release_certificates",
    "outcome_assessments",
    "assessment_photos",
)


@pytest.mark.req("T-8")
def test_the_append_only_triggers_are_created(quiet_app):
    """The ledger, QC results, specification versions and signatures refuse change."""
    events = (
        ("no_update_delete", "no_truncate")
        if db.engine.dialect.name == "postgresql"
        else ("no_update", "no_delete")
    )
    expected = {f"{table}_{event}" for table in APPEND_ONLY for event in events}
    assert ledger_triggers() == expected | {"ledger_receipts_move_forward"}


def test_downgrade_to_base_and_upgrade_again(quiet_app):
    downgrade(revision="base")
    assert tables() == set()
    assert ledger_triggers() == set()
    upgrade()
    assert tables() == TABLES
    assert schema_diff() == []
    assert len(ledger_triggers()) == 2 * len(APPEND_ONLY) + 1  # receipts move forward


def test_the_installation_becomes_one_site_with_every_account_a_member(quiet_app):
    """Migration 0015: the configured facility is the one site; every account joins it."""
    downgrade(revision="0014")
    with db.engine.begin() as connection:
        for name in ("ana", "ben"):
            connection.execute(
                sa.text(
                    "INSERT INTO users (username, full_name, role, password_hash, active, "
                    "must_change_password, all_patients, created_at) VALUES (:name, :name, "
                    "'technician', 'x', true, false, false, CURRENT_TIMESTAMP)"
                ),
                {"name": name},
            )
    upgrade()
    with db.engine.connect() as connection:
        site = connection.execute(sa.text("SELECT * FROM sites")).mappings().one()
        members = connection.execute(
            sa.text(
                "SELECT users.username FROM user_sites JOIN users ON users.id = user_id "
                "WHERE site_id = :site ORDER BY users.username"
            ),
            {"site": site["id"]},
        ).scalars()
        assert list(members) == ["ana", "ben"]
    config = quiet_app.config
    assert (site["code"], site["name"], site["address"], site["timezone"], site["kind"]) == (
        config["FACILITY_CODE"],
        config["FACILITY_NAME"],
        config["FACILITY_ADDRESS"],
        config["TIMEZONE"],
        "processing_lab",
    )


# On PostgreSQL: going back to 0017 with data in the tables rebuilds ``users`` on SQLite
# (0019's downgrade), which its foreign keys refuse; the backfill's SQL is the same on both.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_existing_units_get_one_course_per_patient_in_order_of_first_collection(quiet_app, users):
    """Migration 0018: each patient's units share one course, numbered by first collection."""
    from lims.services.actions import units
    from tests.conftest import registration

    clinician = users["clinician"]
    later = units.register(registration(mrn="MRN-L", name="Later Patient"), clinician).unit
    for hours in (3, 1):  # the earlier patient's first collection is the earliest of all
        units.register(registration(mrn="MRN-E", name="Early Patient", hours_ago=hours), clinician)
    later_id, year = later.patient_id, later.collected_at.year
    db.session.remove()
    downgrade(revision="0017")
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT patient_id, chain_of_identity FROM units ORDER BY id")
        ).all()
    codes = {patient: {code for p, code in rows if p == patient} for patient, _ in rows}
    prefix = f"CH{quiet_app.config['FACILITY_CODE']}{year % 100:02d}"
    early_id = next(p for p in codes if p != later_id)
    assert codes == {later_id: {prefix + "000002"}, early_id: {prefix + "000001"}}
    made = units.register(registration(mrn="MRN-N", name="New Patient"), clinician).unit
    assert made.chain_of_identity == prefix + "000003"
