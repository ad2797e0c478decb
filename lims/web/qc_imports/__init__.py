"""Instrument result imports: the list of files imported, the upload form, and an import's
preview (each result, its unit, value, verdict, or why it is refused) with its Confirm button
and, for a large file, the job's progress bar.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("qc_imports", __name__, url_prefix="/qc-imports")

from . import routes  # noqa: E402,F401  (views register on bp)
