"""Bulk imports in the browser (admins): the imports so far and the templates, the upload
form, a file's dry run (each row's result, refused cells marked with the reason) with its
Confirm button, and the all-or-nothing job's progress bar.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/admin/imports")

from . import routes  # noqa: E402,F401  (views register on bp)
