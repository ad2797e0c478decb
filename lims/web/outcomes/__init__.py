"""The outcomes page for clinicians and QA: change from baseline per patient, and the response
at one visit by product type, dose, viability and digestion time (decision 114).

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("outcomes", __name__, url_prefix="/outcomes")

from . import routes  # noqa: E402,F401  (views register on bp)
