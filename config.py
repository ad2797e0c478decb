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
from typing import ClassVar

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


# The spellings of a PostgreSQL URL, all opened with psycopg 3 (the driver installed).
POSTGRES_SCHEMES = frozenset(
    {"postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"}
)


def database_url(url: str) -> str:
    """The URL SQLAlchemy should open: hosts hand out ``postgres://`` or ``postgresql://``,
    which SQLAlchemy reads as psycopg2, and only psycopg 3 is installed; every PostgreSQL
    spelling (psycopg2's too) becomes ``postgresql+psycopg://``. Others pass unchanged."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in POSTGRES_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return url


def _hours(name: str, default: str) -> list[int]:
    return [int(h) for h in os.environ.get(name, default).split(",") if h.strip()]


def celery_config(redis_url: str | None) -> dict:
    """Celery's settings under one key (Flask's Celery pattern); no broker: in-process."""
    return {
        "broker_url": redis_url,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Unacknowledged tasks of a dead worker return to the queue after this long. A
        # request never waits on a Redis outage: publishing fails at once (the outbox keeps
        # the event; beat's sweep sends it when Redis is back).
        "broker_transport_options": {
            "visibility_timeout": 300,
            "socket_connect_timeout": 2,
            "max_retries": 0,
        },
        "broker_connection_timeout": 2,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": {
            "notify-sweep": {"task": "lims.sweep", "schedule": 30.0},
            "expiry-checks": {"task": "lims.expiry_checks", "schedule": 300.0},
            "transit-checks": {"task": "lims.transit_checks", "schedule": 600.0},
            "materials-checks": {"task": "lims.materials_checks", "schedule": 3600.0},
            "outcome-reminders": {"task": "lims.outcome_reminders", "schedule": 3600.0},
            "head-receipt": {
                "task": "lims.issue_head_receipt",
                "schedule": 60.0 * _int("HEAD_RECEIPT_MINUTES", 60),
            },
        },
        "timezone": "UTC",
    }


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    LEDGER_KEY = os.environ.get("LEDGER_KEY") or None
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'lims.sqlite3'}"
    )
    # A connection the database dropped (a restart, a failover) is noticed and replaced when
    # it is next taken from the pool after being idle (``lims.pool``, decision 96), so the app
    # recovers by itself once the database is back.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    CELERY = celery_config(REDIS_URL)

    # Notifications (docs/product.md §8). E-mail is sent only with MAIL_SERVER set; the webhook
    # only with WEBHOOK_URL (and WEBHOOK_SECRET, which signs each body with HMAC-SHA256).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_FROM = os.environ.get("MAIL_FROM", "lims@localhost")
    MAIL_DOMAIN = os.environ.get("MAIL_DOMAIN", "lims.local")
    WEBHOOK_URL = os.environ.get("WEBHOOK_URL") or None
    WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET") or None
    # Without Redis, notifications are delivered in this process: on a thread of its own after
    # the response (lims/notify/courier.py), or inside the request when set to 0.
    NOTIFY_IN_BACKGROUND = os.environ.get("NOTIFY_IN_BACKGROUND", "1") == "1"
    # Label printers (decision 100): how long a printer may take to answer, and whether a print
    # job is sent after the response (a thread of this process, without Redis) or inside it.
    PRINTER_TIMEOUT_SECONDS = float(os.environ.get("PRINTER_TIMEOUT_SECONDS", "5"))
    PRINT_IN_BACKGROUND = os.environ.get("PRINT_IN_BACKGROUND", "1") == "1"
    # Without a broker, beat's schedule runs on a thread of each process (lims.worker.clock).
    EMBEDDED_BEAT = os.environ.get("EMBEDDED_BEAT", "1") == "1"
    CUPS_LP_COMMAND = os.environ.get("CUPS_LP_COMMAND", "lp")  # CUPS's lp, for PDF printers
    # Processes that verify a long ledger (decision 92); 0: one per core this process may use.
    LEDGER_VERIFY_WORKERS = _int("LEDGER_VERIFY_WORKERS", 0)
    NOTIFY_MAX_ATTEMPTS = _int("NOTIFY_MAX_ATTEMPTS", 8)
    NOTIFY_BACKOFF_SECONDS = _int("NOTIFY_BACKOFF_SECONDS", 10)
    NOTIFY_LEASE_SECONDS = _int("NOTIFY_LEASE_SECONDS", 120)
    NOTIFY_EXPIRY_WARNINGS_HOURS = _hours("NOTIFY_EXPIRY_WARNINGS_HOURS", "24,4,1")
    TRANSIT_OVERDUE_HOURS = _int("TRANSIT_OVERDUE_HOURS", 3)
    # A shipment between sites is overdue this long after dispatch unless the packer gave
    # the expected arrival (decision 102).
    SHIPMENT_EXPECTED_HOURS = _int("SHIPMENT_EXPECTED_HOURS", 24)
    # The outcome visits after a course's first session, in months (0: the baseline, before
    # it); the clinician is told this many days before a visit is due, and again once this
    # many days after it is overdue (decision 112).
    OUTCOME_SCHEDULE_MONTHS = os.environ.get("OUTCOME_SCHEDULE_MONTHS", "0,3,6,12")
    OUTCOME_DUE_NOTICE_DAYS = _int("OUTCOME_DUE_NOTICE_DAYS", 7)
    OUTCOME_OVERDUE_DAYS = _int("OUTCOME_OVERDUE_DAYS", 14)
    # Where the outcome photographs are stored (their SHA-256 is in the database).
    PHOTO_DIR = os.environ.get("PHOTO_DIR") or str(INSTANCE_DIR / "photos")
    # A long job with no result after this long is failed by the sweep (its process died).
    JOB_STALL_MINUTES = _int("JOB_STALL_MINUTES", 60)
    # Beat signs the ledger's head this often (when it moved), so a cut tail is caught.
    HEAD_RECEIPT_MINUTES = _int("HEAD_RECEIPT_MINUTES", 60)
    READINESS_REFRESH_SECONDS = _int("READINESS_REFRESH_SECONDS", 30)
    # The board's stage history is read at most this often per process (0: every time).
    TURNAROUND_CACHE_SECONDS = _int("TURNAROUND_CACHE_SECONDS", 300)

    # ISBT 128 facility identification number: 5 characters, A-Z and 0-9.
    FACILITY_CODE = os.environ.get("FACILITY_CODE", "C0001")
    FACILITY_NAME = os.environ.get("FACILITY_NAME", "Cell Therapy Laboratory")
    # Printed on every certificate of release (decision 82): the facility's postal address,
    # one line (commas separate its parts).
    FACILITY_ADDRESS = os.environ.get(
        "FACILITY_ADDRESS", "1 Hospital Road, Cell Therapy Unit, 00000 City, Country"
    )
    TIMEZONE = os.environ.get("TIMEZONE", "UTC")

    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 15)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=SESSION_IDLE_MINUTES)
    # A readiness board left alone that long signs out ("sign_out", the sign-in page), or
    # keeps refreshing without patient names ("anonymous"); its refresh never counts as use.
    BOARD_IDLE_MODE = os.environ.get("BOARD_IDLE_MODE", "sign_out")
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Failed sign-ins allowed per username tried (known or not), stacked so the wait grows;
    # per address (larger: one address trying many usernames); and wrong passwords typed
    # again per signed-in account (signatures, the current password), which pause only that
    # account's signing. lims/security.py counts them.
    LOGIN_THROTTLE = os.environ.get("LOGIN_THROTTLE", "5 per 15 minutes; 10 per hour; 20 per day")
    LOGIN_ADDRESS_THROTTLE = os.environ.get(
        "LOGIN_ADDRESS_THROTTLE", "50 per 15 minutes; 200 per day"
    )
    SIGNING_THROTTLE = os.environ.get(
        "SIGNING_THROTTLE", "5 per 15 minutes; 10 per hour; 20 per day"
    )
    # scrypt with N = 2**17, r = 8, p = 1: about 128 MiB and a quarter second per check
    # (werkzeug gives hashlib the memory it needs). Stored hashes name their own method, so
    # older ones still verify.
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
        os.environ.get("REDIS_URL") or "memory://"
    )
    API_TOKEN_HOURS = _int("API_TOKEN_HOURS", 12)
    # Single sign-on with OpenID Connect (docs/sso.md, decisions 105-106); off without an
    # issuer. LOCAL_PASSWORDS=0 keeps the password form for unlinked admins only.
    OIDC_ISSUER = (os.environ.get("OIDC_ISSUER") or "").rstrip("/") or None
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID") or None
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET") or None
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "single sign-on")
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
    OIDC_LINK_CLAIM = os.environ.get("OIDC_LINK_CLAIM", "email")
    OIDC_ROLES_CLAIM = os.environ.get("OIDC_ROLES_CLAIM", "groups")
    OIDC_ROLE_MAP = os.environ.get("OIDC_ROLE_MAP", "")
    LOCAL_PASSWORDS = os.environ.get("LOCAL_PASSWORDS", "1") == "1"
    # Reverse proxies in front of the app; their X-Forwarded-For gives the client's address
    # (login throttling counts per address).
    PROXY_COUNT = _int("PROXY_COUNT", 0)
    UNITS_PER_PAGE = _int("UNITS_PER_PAGE", 25)
    MAX_CONTENT_LENGTH = 1024 * 1024
    STRICT_TRANSPORT_SECURITY: str | None = None  # the HSTS header's value (production only)
    WTF_CSRF_TIME_LIMIT = None

    @classmethod
    def finalise(cls, config: dict) -> None:
        """Fill embedded-mode secrets; subclasses refuse unsafe settings."""
        for name in ("SECRET_KEY", "LEDGER_KEY"):
            if not config.get(name):
                config[name] = _embedded_secret(name)
        _check_database(config)
        _check_board_idle_mode(config)
        _check_notifications(config)
        _check_throttles(config)
        _check_sso(config)


def _check_database(config: dict) -> None:
    """A URL given as an override (tests, benchmarks) is read like ``DATABASE_URL``."""
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config["SQLALCHEMY_DATABASE_URI"])


def _check_board_idle_mode(config: dict) -> None:
    if config["BOARD_IDLE_MODE"] not in ("sign_out", "anonymous"):
        raise RuntimeError(
            f"BOARD_IDLE_MODE is {config['BOARD_IDLE_MODE']!r}; use 'sign_out' or 'anonymous'"
        )


def _check_throttles(config: dict) -> None:
    """Each password budget is a list of limits, or the first sign-in would fail."""
    from limits import parse_many

    for name in ("LOGIN_THROTTLE", "LOGIN_ADDRESS_THROTTLE", "SIGNING_THROTTLE"):
        try:
            parse_many(config[name])
        except ValueError:
            raise RuntimeError(
                f"{name} is {config[name]!r}; give limits such as '5 per 15 minutes; 10 per hour'"
            ) from None


def _check_sso(config: dict) -> None:
    """Single sign-on needs its client, a known link claim and a role map that parses."""
    from lims.domain.sso import LINK_CLAIMS, RoleMapError, parse_role_map

    if not config.get("OIDC_ISSUER"):
        return
    if not config.get("OIDC_CLIENT_ID"):
        raise RuntimeError("OIDC_ISSUER needs OIDC_CLIENT_ID (and OIDC_CLIENT_SECRET)")
    if config["OIDC_LINK_CLAIM"] not in LINK_CLAIMS:
        raise RuntimeError(f"OIDC_LINK_CLAIM is {config['OIDC_LINK_CLAIM']!r}; use {LINK_CLAIMS}")
    try:
        parse_role_map(config["OIDC_ROLE_MAP"])
    except RoleMapError as exc:
        raise RuntimeError(f"OIDC_ROLE_MAP: {exc}") from None


def _check_notifications(config: dict) -> None:
    """A REDIS_URL given as an override reaches Celery too; a webhook needs its secret."""
    if config.get("REDIS_URL") and not config["CELERY"].get("broker_url"):
        config["CELERY"] = {**config["CELERY"], "broker_url": config["REDIS_URL"]}
    if config.get("WEBHOOK_URL") and not config.get("WEBHOOK_SECRET"):
        raise RuntimeError("WEBHOOK_URL needs WEBHOOK_SECRET (the HMAC key that signs each call)")


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # Browsers keep to HTTPS for a year once they have seen the site over TLS (behind the
    # TLS-terminating proxy, docs/deploy.md); development runs on plain HTTP without it.
    STRICT_TRANSPORT_SECURITY = "max-age=31536000"

    @classmethod
    def finalise(cls, config: dict) -> None:
        missing = [n for n in ("SECRET_KEY", "LEDGER_KEY") if not config.get(n)]
        if missing:
            raise RuntimeError(
                f"refusing to start in production without {', '.join(missing)} in the environment"
            )
        _check_database(config)
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            raise RuntimeError("refusing to start in production on SQLite: set DATABASE_URL")
        _check_board_idle_mode(config)
        _check_notifications(config)
        _check_throttles(config)
        _check_sso(config)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    LEDGER_KEY = "test-ledger-key"
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    CELERY = celery_config(None)
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing for tests only
    TURNAROUND_CACHE_SECONDS = 0  # tests make history and read it back at once
    NOTIFY_IN_BACKGROUND = False  # an action's notifications are there when it returns
    PRINT_IN_BACKGROUND = False  # a print job is sent (or failed) when the request returns
    EMBEDDED_BEAT = False  # no timers in tests; tests/notify/test_clock.py turns it on
    PRINTER_TIMEOUT_SECONDS = 1.0


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
