"""The scan box: a keyboard-wedge scan (or a typed identifier) goes straight to the unit.

A GET form, so the scanner's Enter submits it from any page and the back button works;
looking a unit up changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...domain import identifiers
from ...models.types import utcnow
from ...security import roles_required
from ...services import units
from ...services.errors import ServiceError

bp = Blueprint("scan", __name__)

ECHO_LENGTH = 40


def _echo(code: str) -> str:
    """What was read, shortened, so a user sees what the scanner actually sent."""
    code = code.strip()
    return code if len(code) <= ECHO_LENGTH else code[:ECHO_LENGTH] + "…"


def _example() -> str:
    """A well-formed identifier of this facility, to show how one is typed."""
    din = identifiers.make_din(current_app.config["FACILITY_CODE"], utcnow().year, 42)
    return identifiers.eye_readable(din)


@bp.route("/scan")
@roles_required()
def scan() -> ResponseReturnValue:
    code = request.args.get("code")
    if code is None:
        return render_template("scan/index.html", example=_example())
    try:
        found = units.lookup(code)
    except ServiceError as exc:
        return render_template(
            "scan/index.html",
            example=_example(),
            error=exc.message,
            not_found=exc.http_status == 404,
            scanned=_echo(code),
        ), exc.http_status
    if len(found) == 1:
        return redirect(url_for("units.detail", unit_id=found[0].id))
    return render_template(
        "scan/index.html", example=_example(), choices=found, scanned=_echo(code)
    )
