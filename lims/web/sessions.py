"""The pages' signed cookie session; a request to the API or to FHIR has none.

Those sign in by bearer token only (``web.load_user_from_token``; the session's user is never
read there), so opening the cookie session on each of their requests — building its signing
serializer, reading a cookie nobody sends — was work for nothing on the busiest requests
(decision 115). They get a read-only empty session instead; writing to it is a programming
error and says so.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, Request
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface

TOKEN_PATHS = ("/api/", "/fhir/")


class NoSession(NullSession):
    """The session of a request signed in by token: empty, and nothing may be put in it."""

    def _fail(self, *args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("a request signed in by bearer token has no session to write to")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail  # type: ignore[assignment]


class CookieSessions(SecureCookieSessionInterface):
    null_session_class = NoSession

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(TOKEN_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)
