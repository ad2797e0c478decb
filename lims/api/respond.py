"""The one way an API view answers with a schema: the model as JSON, a status, headers."""

from __future__ import annotations

from flask import current_app

from .schemas import Response


def json_response(model: Response, status: int = 200, **headers: str):
    """pydantic writes the JSON itself (in its compiled serializer), not a dict for ``json`` to
    write again: on a board of 200 patients that was a third of the answer's time."""
    response = current_app.response_class(
        model.model_dump_json() + "\n", status=status, mimetype="application/json"
    )
    response.headers.update(headers)
    return response
