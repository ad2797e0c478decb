"""Configuration classes, read from the environment.

With nothing set the app runs embedded: SQLite under ``instance/``, no Redis, and
development keys kept in ``instance/secrets.json`` (never in the database).
Production refuses to start without ``SECRET_KEY`` and ``LEDGER_KEY``.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LIMS_INSTANCE_DIR", BASE_DIR / "instance"))


def _embedded_secret(name: str) -> str:
    """A per-installation development secret, generated once and kept on disk."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = secrets.token_hex(32)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return stored[name]


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    LEDGER_KEY = os.environ.get("LEDGER_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{INSTANCE_DIR / 'lims.sqlite3'}"
    )
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # ISBT 128 facility identification number: 5 characters, A-Z and 0-9.
    FACILITY_CODE = os.environ.get("FACILITY_CODE", "C0001")
    FACILITY_NAME = os.environ.get("FACILITY_NAME", "Cell Therapy Laboratory")
    TIMEZONE = os.environ.get("TIMEZONE", "UTC")

    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 15)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=SESSION_IDLE_MINUTES)
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    LOGIN_THROTTLE = os.environ.get("LOGIN_THROTTLE", "5 per 15 minutes")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
        os.environ.get("REDIS_URL") or "memory://"
    )
    RATELIMIT_HEADERS_ENABLED = True
    API_TOKEN_HOURS = _int("API_TOKEN_HOURS", 12)
    # Reverse proxies in front of the app; their X-Forwarded-For gives the client's address
    # (login throttling counts per address).
    PROXY_COUNT = _int("PROXY_COUNT", 0)
    UNITS_PER_PAGE = _int("UNITS_PER_PAGE", 25)
    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None

    @classmethod
    def finalise(cls, config: dict) -> None:
        """Fill embedded-mode secrets; subclasses refuse unsafe settings."""
        for name in ("SECRET_KEY", "LEDGER_KEY"):
            if not config.get(name):
                config[name] = _embedded_secret(name)


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    @classmethod
    def finalise(cls, config: dict) -> None:
        missing = [n for n in ("SECRET_KEY", "LEDGER_KEY") if not config.get(n)]
        if missing:
            raise RuntimeError(
                f"refusing to start in production without {', '.join(missing)} in the environment"
            )
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise RuntimeError("refusing to start in production on SQLite: set DATABASE_URL")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    LEDGER_KEY = "test-ledger-key"
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing for tests only


CONFIGS = {
    "development": Config,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_for(name: str | None) -> type[Config]:
    name = name or os.environ.get("LIMS_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"unknown LIMS_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
