"""The one way an API view answers with a schema: the model as JSON, a status, headers."""

from __future__ import annotations

from flask import jsonify

from .schemas import Response


def json_response(model: Response, status: int = 200, **headers: str):
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    response.headers.update(headers)
    return response
