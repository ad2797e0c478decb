"""Reagent lots in the browser: the register's list, receiving a lot, the lot page with QA's
signed acceptance or rejection, its label, and the recall look-up (page and CSV).

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reagents", __name__, url_prefix="/reagent-lots")

from . import routes  # noqa: E402,F401  (views register on bp)
