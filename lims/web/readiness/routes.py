"""The clinician's readiness board: their patients by next appointment, each unit's status in
plain words, an estimated ready time, the time left before expiry, and appointments.

The page renders the whole board on the server; ``board.js`` fetches ``/readiness/fragment``
(the same board, without the page around it) every 30 seconds and swaps it in, and ticks
the countdowns every second. Without JavaScript the page refreshes itself once a minute.
QA and admins may look at any clinician's board (or everyone's); booking stays with the
patient's clinician (``web.patients``).
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...security import roles_required
from ...services.clinic import readiness
from . import bp

VIEWERS = (Role.CLINICIAN, Role.QA, Role.ADMIN)


def _board_or_error():
    """The board asked for, or (None, the refusal) for a bad ``clinician`` parameter."""
    unknown = sorted(set(request.args) - {"clinician"})
    if unknown:
        return None, ServiceError(
            f"unknown parameter: {', '.join(unknown)[:80]}", code="invalid_fields"
        )
    try:
        return readiness.board(
            current_user._get_current_object(), request.args.get("clinician")
        ), None
    except ServiceError as exc:
        return None, exc


def _status(error: ServiceError | None) -> int:
    return 200 if error is None else error.http_status


@bp.route("/")
@roles_required(*VIEWERS)
def board() -> ResponseReturnValue:
    found, error = _board_or_error()
    choices = readiness.clinicians() if current_user.role != Role.CLINICIAN else []
    return render_template(
        "readiness/board.html",
        board=found,
        error=error.message if error else None,
        choices=choices,
        chosen=request.args.get("clinician", ""),
        refresh_seconds=current_app.config["READINESS_REFRESH_SECONDS"],
    ), _status(error)


@bp.route("/fragment")
@roles_required(*VIEWERS)
def fragment() -> ResponseReturnValue:
    """The board alone (no page around it), for ``board.js`` to swap in."""
    found, error = _board_or_error()
    if error is not None:
        return render_template("readiness/_error.html", error=error.message), _status(error)
    response = render_template("readiness/_board.html", board=found)
    return response, 200, {"Cache-Control": "no-store"}
