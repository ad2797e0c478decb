"""The equipment register: the list, an item's page (records, status, history, every unit it
touched, as a page and CSV), the forms to register and edit an item, record a calibration,
qualification or maintenance and change its status, and its printable label.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("equipment", __name__, url_prefix="/equipment")

from . import routes  # noqa: E402,F401  (views register on bp)
