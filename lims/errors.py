"""One JSON error shape for the API, friendly pages for the browser; never a bare 500."""

from __future__ import annotations

import json

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .domain.errors import ServiceError, Unavailable

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def json_error(status: int, message: str, code: str | None = None, **extra):
    body = {"code": code or CODES.get(status, "error"), "message": message, **extra}
    return jsonify({"error": body}), status


def _allow_header(exc: HTTPException) -> dict[str, str]:
    """A 405 says which methods the address takes (RFC 9110): werkzeug's ``Allow`` header,
    kept when the error is answered as JSON or as a page."""
    return {k: v for k, v in exc.get_headers() if k.lower() == "allow"}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _is_fhir() -> bool:
    return request.path == "/fhir" or request.path.startswith("/fhir/")


def fhir_error(status: int, message: str, headers: dict[str, str] | None = None):
    """Under /fhir every error is an OperationOutcome (docs/fhir.md)."""
    from .services.fhir.resources import MEDIA_TYPE, issue_type, outcome

    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="fhir"'
    body = json.dumps(outcome(status, message, issue_type(status)))
    return Response(body, status=status, mimetype=MEDIA_TYPE, headers=headers)


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        from .security import note_refusal

        note_refusal(exc.code)
        headers = {}
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        if _is_fhir():
            return fhir_error(exc.http_status, exc.message, headers)
        if _is_api():
            return jsonify({"error": exc.to_dict()}), exc.http_status, headers
        page = render_template("error.html", status=exc.http_status, message=exc.message)
        return page, exc.http_status, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _is_fhir():
            message = exc.description or exc.name
            if exc.code == 401:
                message = "send 'Authorization: Bearer <token>' (POST /api/v1/tokens)"
            elif exc.code == 403:
                message = "your role may not read this"
            return fhir_error(exc.code or 500, message, _allow_header(exc))
        if exc.code == 401 and not _is_api():
            from .extensions import login_manager

            return login_manager.unauthorized()
        headers = _allow_header(exc)
        if _is_api():
            message = exc.description or exc.name
            if exc.code == 401:
                message = (
                    "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/tokens)"
                )
            elif exc.code == 403:
                message = "your role may not use this endpoint"
            body, status = json_error(exc.code or 500, message)
            return body, status, headers
        page = render_template("error.html", status=exc.code, message=exc.description)
        return page, exc.code, headers

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        """A database that is busy, down, full or read-only is a 503 to retry, never a 500;
        anything else it says is a bug and goes to ``unexpected``."""
        from .db import RETRY_AFTER_SECONDS, unavailable
        from .extensions import db

        _forget_session(db)
        if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
            message = "the database is busy; nothing was changed, try again in a moment"
            return service_error(Unavailable(message, code="busy", retry_after=RETRY_AFTER_SECONDS))
        down = unavailable(exc)
        if down is None:
            return unexpected(exc)
        app.logger.warning("database unavailable: %s", exc.orig)
        return service_error(down)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        from .extensions import db

        _forget_session(db)
        if _is_fhir():
            return fhir_error(500, "internal error; nothing was changed")
        if _is_api():
            return json_error(500, "internal error; nothing was changed")
        return render_template(
            "error.html", status=500, message="Something went wrong; nothing was changed."
        ), 500


def _forget_session(db) -> None:
    """Roll back what the request began; with the connection gone, that fails too."""
    try:
        db.session.rollback()
    except DBAPIError:
        db.session.close()
