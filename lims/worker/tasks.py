"""Celery tasks: small, importable, idempotent, each a thin call into a service or the relay.

Each runs inside the app context. Services queue them by name (``lims.dispatch``); beat's
schedule names them too (``config.celery_config``).
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from ..notify import relay
from ..notify.deliver import deliver
from ..services.actions import schedule
from ..services.clinic import outcomes
from ..services.custody import jobs, receipts
from ..services.materials import warnings as materials_warnings
from ..services.station import data_import, printing, qc_import

log = logging.getLogger(__name__)


@shared_task(name="lims.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Events → deliveries, then one delivery task each."""
    relayed = 0
    while True:
        count = relay.relay_pending()
        relayed += count
        if not count:
            break
    for delivery_id in relay.due_deliveries():
        deliver_one.delay(delivery_id)
    return relayed


@shared_task(name="lims.deliver", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_one(delivery_id: int) -> str:
    outcome = deliver(delivery_id)
    if outcome.status == "retry" and outcome.retry_in is not None:
        deliver_one.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="lims.sweep", ignore_result=True)
def sweep() -> int:
    """Beat, every half minute: what a crashed relay or a lost message left behind, and long
    jobs whose worker died."""
    try:
        jobs.fail_stalled(current_app.config["JOB_STALL_MINUTES"])
    except Exception:  # never let job housekeeping hold up the notifications
        log.exception("failing stalled jobs")
    return relay_outbox.run()


@shared_task(name="lims.expiry_checks", ignore_result=True)
def expiry_checks() -> dict:
    return schedule.expiry_checks()


@shared_task(name="lims.transit_checks", ignore_result=True)
def transit_checks() -> int:
    return schedule.transit_checks()


@shared_task(name="lims.materials_checks", ignore_result=True)
def materials_checks() -> dict:
    """Beat, hourly: equipment calibration and maintenance due or overdue, reagent lots past
    their expiry (each warning and flag once, so running it more often is safe)."""
    return materials_warnings.run_checks()


@shared_task(name="lims.outcome_reminders", ignore_result=True)
def outcome_reminders() -> int:
    """Beat, hourly: outcome visits coming due or overdue, each told to the clinician once
    (decision 112)."""
    return outcomes.remind()


@shared_task(name="lims.ledger_verify_job", ignore_result=True, acks_late=False)
def ledger_verify_job(job_id: int) -> str:
    """A whole-ledger verification with progress. Acknowledged when received, not late: a
    job a worker took is ``running`` in its row, so a redelivered message would be skipped
    anyway, and a verification longer than the broker's visibility timeout must not be
    handed to a second worker meanwhile. QA starts another."""
    return jobs.run_ledger_verify(job_id)


@shared_task(name="lims.qc_import_job", ignore_result=True, acks_late=False)
def qc_import_job(job_id: int) -> str:
    """An instrument file's results recorded one ``record_qc`` each, with progress.
    Acknowledged when received, as the ledger verification: a redelivered message finds the
    job running and is skipped; each row is recorded once anyway (its source is unique)."""
    return qc_import.run_job(job_id)


@shared_task(name="lims.data_import_job", ignore_result=True, acks_late=False)
def data_import_job(job_id: int) -> str:
    """A confirmed bulk import written all or nothing, with progress. Acknowledged when
    received: a redelivered message finds the job running and is skipped."""
    return data_import.run_job(job_id)


@shared_task(name="lims.send_print_job", ignore_result=True, acks_late=False)
def send_print_job(job_id: int) -> str:
    """Send a print job's bytes to its printer. The job is claimed (``queued`` → ``sending``)
    before anything is sent, so a redelivered message sends nothing twice."""
    return printing.send_job(job_id)


@shared_task(name="lims.issue_head_receipt", ignore_result=True)
def issue_head_receipt() -> int | None:
    """Beat's periodic signed head receipt (``HEAD_RECEIPT_MINUTES``); none when the head has
    not moved since the last one. Returns the signed entry number, if one was signed."""
    issued = receipts.issue_if_moved()
    return issued["seq"] if issued else None
