"""Adverse reactions in the browser (decision 113): a clinician's report from the unit page of
a product given to the patient, QA's list and the reaction's page with its investigation
notes, QA's signed close and the report to send on.

The blueprint is made here; the view module adds its routes to it (``from . import bp``). Its
addresses are written out on each route: the report form under ``/units/<id>/…`` where it is
reached from, the rest under ``/audit/adverse-reactions``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reactions", __name__)

from . import routes  # noqa: E402,F401  (views register on bp)
