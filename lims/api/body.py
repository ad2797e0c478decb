"""Reading API requests: a JSON object body, or query parameters, checked before any service.

Only transport-level problems are decided here (not JSON, not an object, text no database
can store); whether the data makes sense is the service's and the domain's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from ..domain.errors import Invalid, ServiceError, from_validation_error

M = TypeVar("M", bound=BaseModel)

# NUL and unpaired surrogates cannot be stored (PostgreSQL text, UTF-8); other control
# characters have no place in a lab record either. Tab, newline and return are allowed.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class BadBody(ServiceError):
    """The request body is not a JSON object (malformed, another JSON type, empty)."""

    http_status, code = 400, "bad_request"


class WrongContentType(ServiceError):
    http_status, code = 415, "unsupported_media_type"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_number(text: str) -> int | float:
    """A number with a fraction or exponent; a whole one (``1.0``) is read as the integer, as
    JSON Schema counts it, so an id, a count or a version written so is taken as such. A
    float field takes the integer as the same value."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= 2**53 else value


def _unstorable_text(value: Any) -> tuple[str, str] | None:
    """The path and reason of the first string (key or value) no record may hold."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str) and _UNSTORABLE.search(item):
            return path or "body", "contains a control character or an invalid code point"
        if isinstance(item, dict):
            for key, child in item.items():
                if _UNSTORABLE.search(key):
                    return path or "body", "a field name contains a control character"
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}", child) for i, child in enumerate(item))
    return None


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 415/400/422 that names the problem."""
    if not request.is_json:
        raise WrongContentType(
            "send the body as JSON with 'Content-Type: application/json'",
            code="wrong_content_type",
        )
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw, parse_constant=_no_constants, parse_float=_json_number)
    except RecursionError:
        raise BadBody("malformed JSON: nested too deeply", code="malformed_json") from None
    except ValueError as exc:
        raise BadBody(f"malformed JSON: {exc}"[:300], code="malformed_json") from None
    if not isinstance(body, dict):
        raise BadBody(
            f"the body must be a JSON object, not {_json_type(body)}", code="body_not_object"
        )
    problem = _unstorable_text(body)
    if problem:
        path, reason = problem
        raise Invalid(
            f"invalid data — {path}: {reason}", code="invalid_text", fields={path: reason}
        )
    return body


def body_first(view: Callable) -> Callable:
    """Refuse an unreadable JSON body before the sign-in throttle (``signing_throttle``)
    looks into it for a password: its own parse does not survive a body nested thousands
    of levels deep, so without this such a body would end in a 500 instead of a 400."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.is_json:
            json_object()
        return view(*args, **kwargs)

    return wrapper


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate data against one of the API's own request models (422 with fields)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def query(model: type[M]) -> M:
    """Query parameters, each given at most once, validated against ``model``."""
    repeated = sorted({k for k, values in request.args.lists() if len(values) > 1})
    if repeated:
        fields = {name: "give this parameter once" for name in repeated}
        raise Invalid(f"repeated parameter: {', '.join(repeated)}", fields=fields)
    params = request.args.to_dict()
    problem = _unstorable_text(params)  # held to the body's rule (a reason reaches the ledger)
    if problem:
        name, reason = problem
        raise Invalid(
            f"invalid parameter — {name}: {reason}", code="invalid_text", fields={name: reason}
        )
    return parse(model, params)
