"""Extensions, created once here and bound to the app in ``create_app``."""

from flask import Flask, current_app, request
from flask_login import LoginManager
from flask_login.signals import user_accessed
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TokenAwareLoginManager(LoginManager):
    """Flask-Login, with a request under ``token_paths`` (the API, FHIR) signed in by its bearer
    token alone: the request loader, nothing else.

    Such a request has no cookie session (``web.sessions``), so Flask-Login's own order — the
    session's protection digest, the session's user id, a remember-me cookie, then the request
    loader — found nothing before the loader, at a twentieth of a look-up's CPU. A
    remember-me cookie sent to the API is ignored here; before, its user loader answered
    nobody and Flask-Login then tried to write the empty session."""

    token_paths: tuple[str, ...] = ()

    def _load_user(self) -> None:
        if not (self.token_paths and request.path.startswith(self.token_paths)):
            return super()._load_user()
        user_accessed.send(current_app._get_current_object())  # type: ignore[attr-defined]
        return self._update_request_context_with_user(self._load_user_from_request(request))


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = TokenAwareLoginManager()
csrf = CSRFProtect()


class FailureCounters:
    """Where the password budgets count failures (``lims.security``): the ``limits`` library's
    storage named by ``RATELIMIT_STORAGE_URI`` (Redis in production, this process's memory in
    the embedded mode) and its fixed-window strategy over it.

    Nothing else is rate-limited, so nothing runs per request: the counters are read and
    spent only where a password is checked (Flask-Limiter's hooks ran on every request
    for no limit at all; decision 115)."""

    def __init__(self) -> None:
        self.storage: Storage | None = None
        self.limiter: FixedWindowRateLimiter | None = None

    def init_app(self, app: Flask) -> None:
        self.storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        self.limiter = FixedWindowRateLimiter(self.storage)

    def reset(self) -> None:
        """Every count forgotten (tests)."""
        if self.storage is not None:
            self.storage.reset()


limiter = FailureCounters()
