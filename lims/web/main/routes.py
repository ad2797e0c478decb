from __future__ import annotations

from flask import current_app, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.roles import Role
from ...security import roles_required
from . import bp

# Where each role lives: clinicians on their readiness board, QA in the audit workspace
# (its home shows the last verification), everyone else on the units list.
HOMES = {Role.CLINICIAN.value: "readiness.board", Role.QA.value: "audit.home"}


@bp.route("/")
@roles_required()
def index() -> ResponseReturnValue:
    home = HOMES.get(current_user.role)
    if home is None or home not in current_app.view_functions:
        home = "units.index"
    return redirect(url_for(home))
