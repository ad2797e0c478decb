"""Units in the browser: the list, registration, the unit page and its action forms.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("units", __name__, url_prefix="/units")

from . import certificate, permits, routes  # noqa: E402,F401  (views register on bp)
