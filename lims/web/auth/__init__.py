"""Signing in and out.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes, sso  # noqa: E402,F401  (views register on bp)
