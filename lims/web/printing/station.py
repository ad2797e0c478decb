"""Where a print is asked from: this workstation's name, kept in a long-lived cookie of the
browser (not the session: it outlives signing out and belongs to the bench, not to the
person), and the client's address. The print rules choose the printer from the two."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, request
from werkzeug.wrappers import Response

from ...domain.errors import Invalid
from ...services.station import printing

COOKIE = "lims_workstation"
COOKIE_LIFETIME = timedelta(days=5 * 365)


def workstation() -> str | None:
    """The name this browser was given, if any (a cookie that is not a name is ignored)."""
    try:
        return printing.Station.of(request.cookies.get(COOKIE), None).workstation
    except Invalid:
        return None


def current() -> printing.Station:
    return printing.Station.of(workstation(), request.remote_addr)


def remember(response: Response, name: str | None) -> None:
    """Set (or, with no name, forget) the cookie on the answer."""
    if not name:
        response.delete_cookie(COOKIE, path="/")
        return
    response.set_cookie(
        COOKIE,
        name,
        max_age=int(COOKIE_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
