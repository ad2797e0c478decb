"""Extensions, created once here and bound to the app in ``create_app``."""

from flask import Flask
from flask_login import LoginManager
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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
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
