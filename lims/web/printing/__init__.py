"""Printing to the bench's own printer and confirming each label by scanning it back: the
printer register and its rules (admin), this workstation's name, the one-key print of a
unit's, wristband's or location's label, the print job's page (sending, printed, failed,
confirmed, wrong label, destroyed) and the day's label report.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole area. Its addresses
sit where a person looks for them (``/admin/printers``, ``/station/workstation``,
``/print/…``, ``/labels/report``), so it has no prefix of its own.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("printing", __name__)

from . import register, report, routes  # noqa: E402,F401  (views register on bp)
