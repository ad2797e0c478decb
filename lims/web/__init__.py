"""Browser blueprints, one per area: parse → call a service → render."""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import Flask, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_url

from ..domain.lifecycle import ACTIONS, Status
from ..extensions import login_manager
from ..models.types import utcnow
from ..timefmt import local_time, time_left
from . import idle
from .sessions import TOKEN_PATHS, CookieSessions


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    # Each area's package makes its blueprint and imports its own views (``<area>/__init__``).
    from . import (
        admin,
        audit,
        auth,
        equipment,
        imports,
        labels,
        locations,
        main,
        notifications,
        outcomes,
        patients,
        printing,
        qc_imports,
        reactions,
        readiness,
        reagents,
        release,
        scan,
        shipments,
        sites,
        units,
    )

    for area in (
        admin,
        audit,
        auth,
        equipment,
        imports,
        labels,
        locations,
        main,
        notifications,
        outcomes,
        patients,
        printing,
        qc_imports,
        reactions,
        readiness,
        reagents,
        release,
        scan,
        shipments,
        sites,
        units,
    ):
        app.register_blueprint(area.bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    login_manager.token_paths = TOKEN_PATHS

    @login_manager.user_loader
    def load_user(user_id: str):
        from ..domain.identifiers import MAX_ID
        from ..services.admin.accounts import user_for_session

        if request.path.startswith(TOKEN_PATHS):
            return None  # the API and FHIR authenticate by bearer token only (no CSRF there)
        user_key, _, stamp = str(user_id).partition(":")
        try:
            number = int(user_key)
        except (TypeError, ValueError, OverflowError):
            return None
        if not 0 < number <= MAX_ID:
            return None
        user = user_for_session(number)
        if user is None or not hmac.compare_digest(stamp, user.session_stamp):
            return None  # the password changed since this session signed in
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        if not req.path.startswith(TOKEN_PATHS):
            return None
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        from ..services.admin.accounts import user_for_token

        return user_for_token(token.strip())

    idle.init_app(app)

    @login_manager.unauthorized_handler
    def sign_in_first() -> ResponseReturnValue:
        """The sign-in page, coming back here after; a page's own polling gets a bare 401
        instead (its script reloads the page, which then comes here)."""
        if idle.is_background():
            return "Signed out: sign in again.", 401, {"Content-Type": "text/plain; charset=utf-8"}
        minutes = round(app.permanent_session_lifetime.total_seconds() / 60)
        message = (
            f"Signed out after {minutes} minutes without use. Please sign in again."
            if idle.ended_idle()
            else login_manager.login_message
        )
        flash(message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    @app.template_filter("localtime")
    def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return local_time(value, fmt)

    @app.template_filter("timeleft")
    def _timeleft(value: datetime | None) -> str:
        return time_left(value, utcnow())

    def may_open(endpoint: str) -> bool:
        """Whether the signed-in user's role passes the route's own check (for nav links)."""
        allowed = getattr(app.view_functions.get(endpoint), "allowed_roles", "missing")
        if allowed == "missing" or not current_user.is_authenticated:
            return False
        return allowed in (None, "public") or current_user.role in {r.value for r in allowed}

    def unread_notifications():
        """The signed-in user's unread messages for the top bar's badge: one query, run
        only when the page asks (base.html asks once). A database that cannot answer (an
        error page about that very database) shows no badge rather than no page."""
        from sqlalchemy.exc import SQLAlchemyError

        from ..extensions import db
        from ..services.inbox import unread

        if not current_user.is_authenticated:
            return None
        try:
            return unread(current_user)
        except SQLAlchemyError:
            db.session.rollback()
            app.logger.warning("unread count unavailable", exc_info=True)
            return None

    @app.context_processor
    def _globals() -> dict:
        return {
            "may_open": may_open,
            "Status": Status,
            "register_roles": {r.value for r in ACTIONS["register"].roles},
            "current_user": current_user,
            "site_zone": app.config["TIMEZONE"],
            "facility_name": app.config["FACILITY_NAME"],
            "unread_notifications": unread_notifications,
        }
