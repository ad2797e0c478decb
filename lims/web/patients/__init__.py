"""A patient's page: their units and their appointments.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")

from . import routes, treatment  # noqa: E402,F401  (views register on bp)
