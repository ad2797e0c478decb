"""Fixtures: an app per backend (SQLite always, PostgreSQL when configured), a client,
users per role, and helpers that read like the lab's actions.

Backends: SQLite runs always. PostgreSQL runs when LIMS_TEST_DATABASE_URL is set and
Redis tests when LIMS_TEST_REDIS_URL is set; with LIMS_REQUIRE_SERVICES=1 a missing or
unreachable service fails the run instead of skipping.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from config import TestingConfig, database_url
from lims import create_app
from lims.extensions import db, limiter
from lims.models import User
from lims.notify.courier import EXTENSION as COURIER
from lims.services.actions import units
from lims.services.admin import accounts
from lims.worker.clock import EXTENSION as CLOCK
from tests.service.lab import CABINET, steps_for, stock_the_bench

# The ``req`` marker checked against the requirements list, and ``--validation-results``.
pytest_plugins = ["lims.validation.pytest_plugin", "pytester"]  # pytester: tests/validation

# Under pytest-xdist each worker (gw0, gw1 …) has a database and a Redis db of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
WORKER_INDEX = int(WORKER[2:]) if WORKER and WORKER[2:].isdigit() else 0


def _worker_redis_url(url: str | None) -> str | None:
    """``redis://…/15`` for the first worker, ``…/14`` for the second, and so on."""
    if not url or not WORKER:
        return url
    base, _, db_number = url.rpartition("/")
    number = int(db_number) if db_number.isdigit() else 15
    return f"{base}/{(number - WORKER_INDEX) % 16}"


# ``postgresql://…`` (psycopg2's spelling) is read as the app reads DATABASE_URL: psycopg 3.
PG_URL = database_url(os.environ.get("LIMS_TEST_DATABASE_URL") or "") or None
REDIS_URL = _worker_redis_url(os.environ.get("LIMS_TEST_REDIS_URL"))
REQUIRE = os.environ.get("LIMS_REQUIRE_SERVICES") == "1"
PASSWORD = "test-pass-1234"
ROLES = ("technician", "clinician", "qa", "admin")
USERNAMES = {"technician": "tech", "clinician": "doctor", "qa": "qa", "admin": "admin"}

BACKENDS = ["sqlite", "postgresql"]


def _missing(service: str, why: str):
    if REQUIRE:
        pytest.fail(f"{service} is required (LIMS_REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"{service} not available: {why}")


def _migrate(url: str, instance: str) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, FACILITY_CODE="T0001")
    with app.app_context():
        upgrade()  # the installation's one site (migration 0015) is the app's facility
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    _migrate(f"sqlite:///{path}", str(path.parent))
    return str(path)


def _worker_database(url: str) -> str:
    """The configured database for a run without workers; ``<name>_gw0`` … (created when
    missing, next to it on the same server) for each pytest-xdist worker."""
    if not WORKER:
        return url
    configured = sa.engine.make_url(url)
    mine = configured.set(database=f"{configured.database}_{WORKER}")
    engine = sa.create_engine(configured, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            known = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": mine.database},
            ).first()
            if known is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{mine.database}"')
    finally:
        engine.dispose()
    return mine.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not PG_URL:
        _missing("PostgreSQL", "LIMS_TEST_DATABASE_URL is not set")
    try:
        url = _worker_database(PG_URL)
    except sa.exc.OperationalError as exc:
        _missing("PostgreSQL", f"cannot connect: {exc.orig}")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except sa.exc.OperationalError as exc:
        _missing("PostgreSQL", f"cannot connect: {exc.orig}")
    finally:
        engine.dispose()
    _migrate(url, "")
    return url


@pytest.fixture(scope="session")
def postgres_engine(postgres_url):
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


def _pg_reset(engine) -> None:
    """Empty every table between tests. As the owner, the test bypasses the ledger triggers
    (session_replication_role) — the application never can. DELETE is ten times faster than
    TRUNCATE on these small tables, and the tests run by the hundred."""
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).scalars()
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in list(tables):
            conn.exec_driver_sql(f'DELETE FROM "{table}"')
        _home_site(conn)


def _home_site(conn) -> None:
    """The installation's one site as migration 0015 makes it (a SQLite copy of the
    template has it already)."""
    conn.execute(
        sa.text(
            "INSERT INTO sites (code, name, address, timezone, kind, active, created_at) "
            "VALUES ('T0001', :name, :address, :zone, 'processing_lab', true, :now)"
        ),
        {
            "name": TestingConfig.FACILITY_NAME,
            "address": TestingConfig.FACILITY_ADDRESS,
            "zone": TestingConfig.TIMEZONE,
            "now": datetime.now(UTC).replace(tzinfo=None),
        },
    )


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def sqlite_home(tmp_path_factory) -> Path:
    """Where each test's SQLite database is: one path for the whole run, so the app made for
    it can serve every SQLite test (``app``)."""
    return tmp_path_factory.mktemp("db")


_COPIES = iter(range(1, 1_000_000))


@pytest.fixture
def database_url(backend, request) -> str:
    """SQLite: a copy of the migrated template of the test's own, behind one path for the
    whole run (a symbolic link, moved to each new copy): a thread a test left running (a
    verification job, a delivery) keeps the file it opened, and the next test has its own."""
    if backend == "sqlite":
        home = request.getfixturevalue("sqlite_home")
        number = next(_COPIES)
        copy_path = home / f"copy-{number}.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), copy_path)
        link, new_link = home / "lims.sqlite3", home / "lims.sqlite3.new"
        new_link.unlink(missing_ok=True)
        new_link.symlink_to(copy_path)
        new_link.replace(link)  # atomic: the path names the new copy at once
        for old in home.glob(f"copy-{number - 20}.sqlite3*"):  # no thread is still at it
            old.unlink(missing_ok=True)
        return f"sqlite:///{link}"
    _pg_reset(request.getfixturevalue("postgres_engine"))
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change configuration."""
    return {}


def _new_app(database_url: str, app_config: dict[str, Any]) -> Flask:
    return create_app(
        "testing", SQLALCHEMY_DATABASE_URI=database_url, **{"FACILITY_CODE": "T0001", **app_config}
    )


# One app per database for the tests that keep the default configuration: building an app
# compiles its 200-odd URL rules (about a tenth of a second), which every test paid. Each
# test gets it back as it was made: its configuration restored, the rate limiter pointed at
# its storage and emptied, Celery's default app its own.
_MADE: dict[str, tuple[Flask, dict[str, Any], dict[str, Any]]] = {}


def _fresh_fallback() -> None:
    """The sign-in throttle's own in-memory counts (a module's), empty again."""
    from lims import security

    security._FALLBACK.storage.reset()
    security._storage_down_until = 0.0


@pytest.fixture
def app(database_url, app_config) -> Iterator:
    if app_config:  # a configuration of its own: an app of its own
        app = _new_app(database_url, app_config)
    elif database_url not in _MADE:
        app = _new_app(database_url, {})
        _MADE[database_url] = (app, copy.deepcopy(dict(app.config)), dict(vars(limiter)))
    else:
        app, config, limits = _MADE[database_url]
        app.config.clear()
        app.config.update(copy.deepcopy(config))
        vars(limiter).update(limits)
        limiter.reset()  # its in-memory counts, as a new app's
        app.extensions["celery"].set_default()
    _fresh_fallback()
    with app.app_context():
        yield app
        db.session.remove()  # first: a job's thread may wait for what the test's session holds
        _let_background_work_end(app)
        db.session.remove()
        db.engine.dispose()


# The threads the app starts for work it does after the response (without a broker).
_BACKGROUND = ("lims-job-", "lims-print-", "lims-qc-import-")


def _let_background_work_end(app: Flask, within: float = 15.0) -> None:
    """Wait for the work a test left running in this process (a verification job, a print
    job, the courier's delivery) before the next test starts: the app, its engine and the
    SQLite path are shared, and a connection such a thread opened on this test's file and
    gave back to the pool would otherwise serve the next test."""
    deadline = time.monotonic() + within
    for thread in threading.enumerate():
        if thread.name.startswith(_BACKGROUND):
            thread.join(max(0.0, deadline - time.monotonic()))
    ticking = app.extensions.get(CLOCK)
    if ticking is not None:  # first: a scheduled task may hand the courier more
        ticking.stop(max(0.0, deadline - time.monotonic()))
    # A clock another app started would go on running scheduled checks on the shared
    # databases for the rest of the session (decision 119): an app a test makes for itself
    # serves requests with EMBEDDED_BEAT off.
    assert not any(t.name == "lims-clock" and t.is_alive() for t in threading.enumerate())
    found = app.extensions.get(COURIER)
    if found is not None:
        found.wait_idle(max(0.0, deadline - time.monotonic()))


class FreshRequestClient(FlaskClient):
    """The ``app`` fixture keeps one app context open for the whole test, so Flask's ``g``
    outlives a request; Flask-Login caches the signed-in user there. Forget it before each
    request, as a real server (one app context per request) does."""

    def open(self, *args: Any, **kwargs: Any):
        for name in ("_login_user", "login_failed"):
            g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return FreshRequestClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def users(app) -> dict[str, User]:
    """One user per role, keyed by role name (plus ``technician2`` for two-person checks)."""
    made = {
        role: accounts.create_user(
            USERNAMES[role], role, PASSWORD, full_name=f"Test {role.title()}"
        )
        for role in ROLES
    }
    made["technician2"] = accounts.create_user(
        "tech2", "technician", PASSWORD, full_name="Second Technician"
    )
    stock_the_bench(made["admin"])
    return made


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        _missing("Redis", "LIMS_TEST_REDIS_URL is not set")
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.flushdb()
    except redis.exceptions.ConnectionError as exc:
        _missing("Redis", f"cannot connect: {exc}")
    finally:
        conn.close()
    return REDIS_URL


# ---------------------------------------------------------------------------- lab helpers

SOURCES = {
    "ADIPOSE": {"collection_site": "abdomen", "volume_ml": 250, "receipt_c": 4.0, "product": "SVF"},
    "MARROW": {
        "collection_site": "posterior iliac crest",
        "volume_ml": 60,
        "receipt_c": 20.0,
        "product": "BM-MNC",
    },
    "BLOOD": {
        "collection_site": "antecubital vein",
        "volume_ml": 60,
        "receipt_c": 21.0,
        "product": "PRP",
    },
}


def registration(
    kind: str = "ADIPOSE",
    *,
    mrn: str = "MRN-1",
    name: str = "Pat Example",
    hours_ago: float = 1,
    **overrides,
) -> dict[str, Any]:
    data = {
        "patient": {"mrn": mrn, "name": name, "birth_date": "1980-05-17"},
        "type": kind,
        "collection_site": SOURCES[kind]["collection_site"],
        "volume_ml": SOURCES[kind]["volume_ml"],
        "collected_at": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
    }
    data.update(overrides)
    return data


def receipt(kind: str = "ADIPOSE", **overrides) -> dict[str, Any]:
    data = {
        "temperature_c": SOURCES[kind]["receipt_c"],
        "container_intact": True,
        "label_matches": True,
        "volume_ml": SOURCES[kind]["volume_ml"],
    }
    data.update(overrides)
    return data


ACTION_DATA = {
    "dispatch": lambda kind: {"courier": "Courier A", "transport_condition": "cool box"},
    "receive": lambda kind: receipt(kind),
    "start_processing": lambda kind: {"protocol": "standard", "equipment": CABINET},
    "complete_processing": lambda kind: {
        "products": [{"type": SOURCES[kind]["product"], "volume_ml": 10, "cell_count": 1_000_000}],
        "steps": steps_for(kind),
    },
    "reject": lambda kind: {"reason": "sample unusable"},
    "discard": lambda kind: {"reason": "no longer needed"},
}


@pytest.fixture
def register(users):
    def _register(kind: str = "ADIPOSE", as_: str = "clinician", **overrides):
        return units.register(registration(kind, **overrides), users[as_]).unit

    return _register


@pytest.fixture
def act(users):
    """``act(unit, "receive", as_="technician", **fields)``; default fields per action."""

    def _act(unit, action: str, as_: str = "technician", **fields):
        data = fields or ACTION_DATA[action](unit.unit_type)
        return units.perform_action(unit.id, action, data, users[as_])

    return _act


@pytest.fixture
def login(client, users):
    def _login(role: str):
        username = USERNAMES.get(role, role)
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


@pytest.fixture
def token(client, users):
    def _token(role: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/tokens", json={"username": USERNAMES[role], "password": PASSWORD}
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return _token
