"""Production's least-privilege role: the application connects as a role that may only
SELECT and INSERT on the ledger, so it can neither change a row nor switch off the triggers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lims import create_app
from lims.extensions import db
from lims.services.actions import units
from lims.services.custody import ledger
from tests.conftest import WORKER

from .lab import data_for, registration, walk

# Roles belong to the whole server: one per pytest-xdist worker.
APP_ROLE = "lims_app_test" + (f"_{WORKER}" if WORKER else "")


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """Database roles exist on PostgreSQL only."""
    return request.param


@pytest.fixture
def app_role(app, runner, postgres_engine) -> str:
    with postgres_engine.begin() as conn:
        conn.exec_driver_sql(
            f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') "
            f"THEN CREATE ROLE {APP_ROLE} LOGIN; END IF; END$$"
        )
    result = runner.invoke(args=["grant-app-role", APP_ROLE])
    assert result.exit_code == 0, result.output
    assert "REVOKE UPDATE, DELETE, TRUNCATE" in result.output
    return (
        make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        .set(username=APP_ROLE)
        .render_as_string(hide_password=False)
    )


@pytest.mark.req("T-8")
@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET actor_name = 'Mallory'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
        "ALTER TABLE ledger_entries DISABLE TRIGGER USER",
        "DROP TRIGGER ledger_entries_no_update_delete ON ledger_entries",
        "UPDATE ledger_receipts SET seq = 0",
        "UPDATE qc_results SET verdict = 'pass'",
        "DELETE FROM signatures",
        "ALTER TABLE qc_specs DISABLE TRIGGER USER",
        "UPDATE alembic_version SET version_num = 'x'",
    ],
)
def test_the_application_role_cannot_touch_the_ledger_or_its_triggers(app_role, users, statement):
    units.register(registration("ADIPOSE"), users["clinician"])
    db.session.commit()
    engine = sa.create_engine(app_role)
    try:
        with pytest.raises(sa.exc.ProgrammingError) as refused, engine.begin() as conn:
            conn.exec_driver_sql(statement)
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)
    finally:
        engine.dispose()
    assert ledger.verify().intact


@pytest.mark.postgres_only
def test_the_application_works_as_that_role(app_role, users):
    as_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app_role, FACILITY_CODE="T0001")
    with as_app.app_context():
        from lims.models import User

        clinician = db.session.get(User, users["clinician"].id)
        technician = db.session.get(User, users["technician"].id)
        unit = units.register(registration("MARROW"), clinician).unit
        units.perform_action(unit.id, "receive", data_for("receive", "MARROW"), technician)
        # processing, QC results and a signed release: the role may insert all of them
        here = {role: db.session.get(User, user.id) for role, user in users.items()}
        released = walk(units.register(registration("ADIPOSE"), clinician).unit, "released", here)
        assert released.status == "released"
        assert ledger.verify().intact
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres_only
def test_an_unknown_role_or_a_bad_name_is_refused(runner):
    assert runner.invoke(args=["grant-app-role", "no_such_role_xyz"]).exit_code != 0
    result = runner.invoke(args=["grant-app-role", "x; DROP TABLE units"])
    assert result.exit_code != 0 and "not a plain PostgreSQL role name" in result.output
