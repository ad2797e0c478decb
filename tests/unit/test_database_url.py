"""DATABASE_URL as hosts hand it out (``postgres://``, ``postgresql://``) opens with psycopg 3,
the one PostgreSQL driver installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import database_url
from tests.conftest import PG_URL, REQUIRE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "given",
    [
        "postgres://lims:pw@db.example.org:5432/lims",
        "postgresql://lims:pw@db.example.org:5432/lims",
        "postgresql+psycopg2://lims:pw@db.example.org:5432/lims",
        "postgresql+psycopg://lims:pw@db.example.org:5432/lims",
        "POSTGRES://lims:pw@db.example.org:5432/lims",
    ],
)
def test_every_postgresql_spelling_opens_with_psycopg_3(given):
    assert database_url(given) == "postgresql+psycopg://lims:pw@db.example.org:5432/lims"


@pytest.mark.parametrize(
    "given",
    ["sqlite:///instance/lims.sqlite3", "sqlite://", "mysql://x@y/z", "not a url", ""],
)
def test_other_urls_pass_unchanged(given):
    assert database_url(given) == given


def test_only_the_scheme_changes_never_the_password_or_the_query():
    given = "postgres://lims:p%40ss%3A//word@db:5432/lims?sslmode=require&application_name=x"
    assert database_url(given) == (
        "postgresql+psycopg://lims:p%40ss%3A//word@db:5432/lims?sslmode=require&application_name=x"
    )


def _plain(url: str) -> str:
    """The test database's URL as a host would give it: ``postgresql://``, no driver."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def test_the_app_starts_on_a_plain_postgresql_url_from_the_environment(tmp_path):
    if not PG_URL:
        if REQUIRE:
            pytest.fail("LIMS_TEST_DATABASE_URL is required (LIMS_REQUIRE_SERVICES=1)")
        pytest.skip("LIMS_TEST_DATABASE_URL is not set")
    script = (
        "from lims import create_app\n"
        "from lims.extensions import db\n"
        "app = create_app('development')\n"
        "with app.app_context():\n"
        "    print(db.engine.url.drivername, db.session.execute(db.text('SELECT 1')).scalar())\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": _plain(PG_URL),
        "LIMS_INSTANCE_DIR": str(tmp_path),  # development keys of its own
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["postgresql+psycopg", "1"]
