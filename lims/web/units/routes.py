from __future__ import annotations

from flask import Blueprint, render_template

from ...security import roles_required

bp = Blueprint("units", __name__, url_prefix="/units")


@bp.route("/")
@roles_required()
def index():
    return render_template("units/index.html")
