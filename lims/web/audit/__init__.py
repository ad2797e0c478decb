"""The audit workspace for QA: ledger verification, QA's home, receipts and deviations,
ledger search and custody reports, and the charts.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from . import charts, qa, routes, search, validation  # noqa: E402,F401  (views register on bp)
