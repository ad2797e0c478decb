"""One time-formatting filter: UTC in the database, the site's zone on screen, zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def site_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_time(
    value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", zone: ZoneInfo | None = None
) -> str:
    """``value`` in ``zone`` (default the site's), the zone named."""
    if value is None:
        return "—"
    local = value.astimezone(zone or site_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def time_left(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = int((value - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    days, hours = divmod(hours, 24)
    # Frozen products keep for years: hours stop meaning anything (board.js says the same).
    if days >= 730:
        return f"about {round(days / 365.25)} years left"
    if days >= 60:
        return f"about {round(days / 30.44)} months left"
    if days:
        return f"{days} d {hours} h left"
    return f"{hours} h {rest // 60:02d} min left"
