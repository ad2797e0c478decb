from __future__ import annotations

from flask import Blueprint, redirect, url_for

from ...security import roles_required

bp = Blueprint("main", __name__)


@bp.route("/")
@roles_required()
def index():
    return redirect(url_for("units.index"))
