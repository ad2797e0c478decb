"""Shipments between sites (decision 102) in the browser: the list with its "scan a manifest"
box, a new shipment, the shipment's page (packing by scan, the two-person dispatch, the
receipt scan with its live checklist, the outcomes once received) and its two PDFs.

The blueprint is made here; the view module adds its routes to it (``from . import bp``)
and is imported once, below, so importing the package gives the whole area. Its addresses
are ``/shipments/…`` (written out on each route, as the printing area does).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shipments", __name__)

from . import routes  # noqa: E402,F401  (views register on bp)
