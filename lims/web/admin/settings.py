"""Notification settings as the site runs with them: each channel on or off and why, what it
is configured with (secrets never shown) and the environment variable that changes it, and
each active person's channel choices at a glance. Read-only: the settings come from the
environment and take effect on restart (see ``services.site_settings``)."""

from __future__ import annotations

from flask import current_app, render_template
from flask.typing import ResponseReturnValue

from ...domain.roles import Role
from ...security import roles_required
from ...services.admin import site_settings
from . import bp


@bp.get("/settings/notifications")
@roles_required(Role.ADMIN)
def notification_settings() -> ResponseReturnValue:
    config = current_app.config
    return render_template(
        "admin/settings_notifications.html",
        channels=site_settings.channels(config),
        delivery=site_settings.delivery(config),
        people=site_settings.people_channels(config),
    )
