"""Signing out after ``SESSION_IDLE_MINUTES`` without use, which a page's own polling must
not prevent.

A request the browser makes by itself (the readiness board's refresh, a job's progress bar)
says so with ``X-Background: 1``; the scripts in ``lims/static/js`` send it. The session keeps
the time of the last request a person made (``seen``); background requests leave it alone,
so a board left open signs out like any other page. A background request that finds its
session signed out gets a plain 401 (its script then reloads the page, which goes to the
sign-in page) instead of a redirect the script cannot follow.

With ``BOARD_IDLE_MODE = "anonymous"`` a signed-out board keeps refreshing without patient
names: the session remembers whose board it was (user and password stamp, so a password
change or deactivation ends it) and ``board_viewer`` hands that person back to the board's
fragment only. Signing out, or in, forgets it.
"""

from __future__ import annotations

import hmac
import time

from flask import Flask, current_app, request, session
from flask_login import current_user, logout_user, user_logged_in, user_logged_out

from ..models import User
from .sessions import TOKEN_PATHS

BACKGROUND_HEADER = "X-Background"
SEEN = "seen"  # epoch seconds of the last request a person made
BOARD_VIEWER = "board_viewer"  # {"user": id, "stamp": session stamp}, anonymous mode only
ENDED_IDLE = "ended_idle"  # the sign-in page then says why


def is_background() -> bool:
    """A request the page made by itself (polling), not a person."""
    return request.headers.get(BACKGROUND_HEADER) == "1"


def ended_idle() -> bool:
    """Whether this session was signed out for being idle (once: the answer forgets it)."""
    return bool(session.pop(ENDED_IDLE, False))


def board_viewer() -> User | None:
    """Whose board an idle screen may show without names (``BOARD_IDLE_MODE =
    "anonymous"``): still active, and with the password they had when it went idle."""
    remembered = session.get(BOARD_VIEWER)
    if current_app.config["BOARD_IDLE_MODE"] != "anonymous" or not isinstance(remembered, dict):
        return None
    from ..extensions import db

    try:
        user = db.session.get(User, int(remembered.get("user")))
    except (TypeError, ValueError, OverflowError):
        return None
    stamp = str(remembered.get("stamp", ""))
    if user is None or not user.is_active or not hmac.compare_digest(stamp, user.session_stamp):
        return None
    return user


def _sign_out_idle(app: Flask) -> None:
    user = current_user._get_current_object()
    keep_board = app.config["BOARD_IDLE_MODE"] == "anonymous"
    logout_user()  # (forgets any board viewer: see below)
    session.pop(SEEN, None)
    if keep_board:
        session[BOARD_VIEWER] = {"user": user.id, "stamp": user.session_stamp}
    session[ENDED_IDLE] = True


def init_app(app: Flask) -> None:
    @app.before_request
    def idle_timeout() -> None:
        if request.path.startswith(TOKEN_PATHS) or request.endpoint == "static":
            return  # the API and FHIR sign in by token; a stylesheet is not a person's request
        # A permanent session's cookie also expires PERMANENT_SESSION_LIFETIME after it was
        # last set: a second line behind ``seen``.
        if not session and request.cookies.get(app.config["SESSION_COOKIE_NAME"]):
            # the cookie's own time ran out (nothing polled it since): the same idle end
            session[ENDED_IDLE] = True
        session.permanent = True
        if not current_user.is_authenticated:
            return
        now = time.time()
        seen = session.get(SEEN)
        if not isinstance(seen, int | float):
            session[SEEN] = now
        elif now - seen > app.permanent_session_lifetime.total_seconds():
            _sign_out_idle(app)
        elif not is_background():
            session[SEEN] = now

    @user_logged_in.connect_via(app)
    def start_the_clock(sender: Flask, user: User | None = None, **extra: object) -> None:
        session[SEEN] = time.time()
        session.pop(ENDED_IDLE, None)

    @user_logged_out.connect_via(app)
    def forget_the_board(sender: Flask, user: User | None = None, **extra: object) -> None:
        session.pop(BOARD_VIEWER, None)
        session.pop(ENDED_IDLE, None)
