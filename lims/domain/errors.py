"""Errors a service raises; entrypoints turn them into a form message or a JSON error."""

from __future__ import annotations


class ServiceError(Exception):
    http_status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class NotFound(ServiceError):
    http_status, code = 404, "not_found"


class Forbidden(ServiceError):
    http_status, code = 403, "forbidden"


class Conflict(ServiceError):
    """Not allowed now: wrong status, a stale version, or a concurrent change."""

    http_status, code = 409, "conflict"


class Unavailable(ServiceError):
    """A part of this installation is missing or down (a system library, the database);
    nothing was changed. ``retry_after``: seconds after which trying again may work."""

    http_status, code = 503, "unavailable"
    retry_after: int | None = None

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Invalid(ServiceError):
    http_status, code = 422, "invalid"


def from_validation_error(exc) -> Invalid:
    """A pydantic ValidationError as one Invalid with a message per field."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        fields.setdefault(name, message)
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return Invalid(f"invalid data — {summary}", code="invalid_fields", fields=fields)
