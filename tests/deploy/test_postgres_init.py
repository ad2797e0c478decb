"""deploy/postgres-init.sh creates the app's login role with the password exactly as typed,
whatever it holds: psql quotes it (a psql variable), so a quote cannot end the statement.
Run against the local PostgreSQL with a throwaway role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres-init.sh"


def scram_matches(stored: str, password: str) -> bool:
    """Does a SCRAM-SHA-256 verifier (pg_authid.rolpassword) belong to this password?"""
    method, _, rest = stored.partition("$")
    iterations_salt, _, keys = rest.partition("$")
    iterations, _, salt = iterations_salt.partition(":")
    stored_key, _, server_key = keys.partition(":")
    assert method == "SCRAM-SHA-256"
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == base64.b64decode(stored_key) and (
        server == base64.b64decode(server_key)
    )


@pytest.fixture
def throwaway(postgres_engine):
    """A role name no one uses, dropped (with its grants) afterwards."""
    role = f"lims_init_{uuid.uuid4().hex[:10]}"
    yield role
    with postgres_engine.begin() as conn:
        for name in (role, f"{role}_pwned"):
            if conn.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}
            ).first():
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')


def run_script(url: str, role: str, password: str) -> subprocess.CompletedProcess:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    parts = sa.engine.make_url(url)
    env = {
        **os.environ,
        "PGHOST": parts.host or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGPASSWORD": parts.password or "",
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_DB": parts.database or "postgres",
        "APP_DB_ROLE": role,
        "APP_DB_PASSWORD": password,
    }
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    "password",
    [
        "plain-password-123",
        "it's got a quote",
        "x'; CREATE ROLE {role}_pwned SUPERUSER; --",
        'back\\slash "double" $HOME `date` :pw',
    ],
)
def test_the_app_role_gets_the_password_as_typed(
    postgres_url, postgres_engine, throwaway, password
):
    password = password.replace("{role}", throwaway)
    done = run_script(postgres_url, throwaway, password)
    assert done.returncode == 0, done.stderr

    with postgres_engine.connect() as conn:
        stored, can_login = conn.execute(
            sa.text("SELECT rolpassword, rolcanlogin FROM pg_authid WHERE rolname = :r"),
            {"r": throwaway},
        ).one()
        pwned = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": f"{throwaway}_pwned"}
        ).first()
        granted = conn.execute(
            sa.text("SELECT datacl::text FROM pg_database WHERE datname = current_database()")
        ).scalar()
    assert can_login and f"{throwaway}=c/" in granted  # CONNECT on the database
    assert pwned is None  # nothing after the quote ran as SQL
    assert scram_matches(stored, password)
