"""The only code that changes state. Each public function that writes is one transaction
(``lims.db.transaction``); entrypoints (web, API, CLI, Celery tasks) call these and nothing
below. Grouped by what the lab does:

- ``custody``: the ledger and its chain, head receipts, electronic signatures, long jobs.
- ``actions``: the lifecycle: registering, performing actions and their effects, expiry.
- ``station``: the bench: scanning codes and printing labels.
- ``clinic``: the clinician's side: appointments, readiness, turnaround estimates.
- ``audit``: QA's reading: ledger search, custody reports, timeline, deviations, charts.
- ``admin``: accounts, locations, inventory, database roles, site settings.
- ``fhir``: patients and units as FHIR R4 resources, and finding them for a person.

Shared by all: ``search`` (unit lists), ``sequences`` (identifier numbers), ``inbox``
(notifications as people read them), ``access`` (which patients and units a person may see:
the one rule every read for a person goes through). Refusals are ``lims.domain.errors``.
"""
