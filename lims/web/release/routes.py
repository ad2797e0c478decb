"""The release queue: what QA reads before signing, one card per product, soonest expiry first.

Only QA opens it. Admins configure the lab (specs, locations) but do not release, and a
read-only copy for them would be a second screen to keep right; they reach any product
through its unit page.
"""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.roles import Role
from ...security import roles_required
from ...services.audit import alerts
from . import bp
from .queue import cards


@bp.route("")
@roles_required(Role.QA)
def queue() -> ResponseReturnValue:
    """QA only (decision: admins and others get 403; the queue is where QA signs)."""
    return render_template(
        "release/queue.html",
        cards=cards(current_user._get_current_object()),
        alerts=alerts.identity_mismatches(),
        alert_days=alerts.ALERT_WINDOW.days,
    )
