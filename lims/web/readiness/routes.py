"""The clinician's readiness board: their patients by next appointment, each unit's status in
plain words, an estimated ready time, the time left before expiry, and appointments.

The page renders the whole board on the server; ``board.js`` fetches ``/readiness/fragment``
(the same board, without the page around it) every 30 seconds and swaps it in, and ticks
the countdowns every second. Without JavaScript the page refreshes itself once a minute.
The refresh is not use: a board left alone signs out after ``SESSION_IDLE_MINUTES``, or with
``BOARD_IDLE_MODE = "anonymous"`` keeps refreshing without patient names (``web.idle``).
QA and admins may look at any clinician's board (or everyone's); booking stays with the
patient's clinician (``web.patients``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import ServiceError
from ...domain.roles import Role
from ...models import User
from ...security import roles_required
from ...services.clinic import readiness
from ..idle import board_viewer
from . import bp

VIEWERS = (Role.CLINICIAN, Role.QA, Role.ADMIN)


def _board_or_error(viewer: User | None = None):
    """The board asked for, or (None, the refusal) for a bad ``clinician`` parameter."""
    unknown = sorted(set(request.args) - {"clinician"})
    if unknown:
        return None, ServiceError(
            f"unknown parameter: {', '.join(unknown)[:80]}", code="invalid_fields"
        )
    try:
        return readiness.board(
            viewer or current_user._get_current_object(), request.args.get("clinician")
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


def _fragment(viewer: User | None = None) -> ResponseReturnValue:
    found, error = _board_or_error(viewer)
    if error is not None:
        return render_template("readiness/_error.html", error=error.message), _status(error)
    return render_template("readiness/_board.html", board=found, masked=viewer is not None)


def or_without_names(view: Callable) -> Callable:
    """Signed out on an idle board in the "anonymous" mode: the board of the person who
    left it, without patient names; otherwise the view and its own role check."""

    @wraps(view)
    def wrapper(*args, **kwargs) -> ResponseReturnValue:
        if not current_user.is_authenticated and (viewer := board_viewer()) is not None:
            return _fragment(viewer)
        return view(*args, **kwargs)

    return wrapper


@bp.route("/fragment")
@or_without_names
@roles_required(*VIEWERS)
def fragment() -> ResponseReturnValue:
    """The board alone (no page around it), for ``board.js`` to swap in."""
    return _fragment()
