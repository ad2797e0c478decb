"""One JSON error shape for the API, friendly pages for the browser; never a bare 500."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .domain.errors import ServiceError

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


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        from .security import note_refusal

        note_refusal(exc.code)
        if _is_api():
            return jsonify({"error": exc.to_dict()}), exc.http_status
        return render_template(
            "error.html", status=exc.http_status, message=exc.message
        ), exc.http_status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 401 and not _is_api():
            from .extensions import login_manager

            return login_manager.unauthorized()
        if _is_api():
            message = exc.description or exc.name
            if exc.code == 401:
                message = (
                    "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/tokens)"
                )
            elif exc.code == 403:
                message = "your role may not use this endpoint"
            return json_error(exc.code or 500, message)
        return render_template("error.html", status=exc.code, message=exc.description), exc.code

    @app.errorhandler(OperationalError)
    def database_busy(exc: OperationalError):
        from .extensions import db

        db.session.rollback()
        if "locked" not in str(exc.orig).lower():
            return unexpected(exc)
        message = "the database is busy; nothing was changed, try again in a moment"
        if _is_api():
            return json_error(503, message, code="busy")
        return render_template("error.html", status=503, message=message), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        from .extensions import db

        db.session.rollback()
        if _is_api():
            return json_error(500, "internal error; nothing was changed")
        return render_template(
            "error.html", status=500, message="Something went wrong; nothing was changed."
        ), 500
