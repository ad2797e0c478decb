"""Admin pages: QC specifications, the catalogue, notification settings and the accounts.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import catalogue, routes, settings, users  # noqa: E402,F401  (views register on bp)
