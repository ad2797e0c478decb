"""The JSON API under /api/v1: same services, same rules, one error shape.

The blueprint is made here; the view modules add their routes to it (``from . import bp``)
and are imported once, below, so importing the package gives the whole API.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, never cookies: nothing for a forged form to ride on


def init_app(app: Flask) -> None:
    from . import fhir  # read-only FHIR R4 under /fhir: a blueprint of its own

    app.register_blueprint(bp)
    fhir.init_app(app)


from . import (  # noqa: E402,F401  (views register on bp)
    account,  # the caller's own account: end the token in use, change the password
    adverse_reactions,  # adverse reactions: reported, investigated, closed signed; the report
    audit,  # ledger search and unit reports
    certificates,  # a released unit's certificate of release, JSON or PDF
    equipment,  # the equipment register: items, calibrations, status, units touched
    imports,  # bulk imports of patients, units, locations, users: dry run, confirm, job
    jobs,  # long jobs: ledger verification with progress
    labels,  # unit, wristband and location labels
    notifications,  # the caller's inbox
    outcomes,  # the outcomes analysis: change from baseline, response by group
    permits,  # QA's permit to use equipment the register refuses, on one unit
    printing,  # printers, print rules, print jobs and their scan-back, the label report
    qc,  # QC results, specifications and the release queue
    qc_imports,  # instrument result files: upload, preview, confirm
    readiness,  # the readiness board and appointments
    reagents,  # reagent lots: the register, QA's signed acceptance, the recall look-up
    routes,  # tokens, units, actions, history, the OpenAPI document
    scan,  # what a code is, the wristband check, a batch
    shipments,  # shipments between sites: packing, two-person dispatch, receipt by scan
    sites,  # the sites of the network and an account's sites
    treatment,  # a patient's treatment course: plans, sessions, outcome visits, photos
    validation,  # validation reports: the list, one report, QA's signed approval
)
