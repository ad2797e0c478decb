"""Celery tasks: small, importable, idempotent. Each runs inside the app context."""

from __future__ import annotations

import logging

from celery import shared_task

from . import relay
from .deliver import deliver

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
    from flask import current_app

    from ..services.custody.jobs import fail_stalled

    try:
        fail_stalled(current_app.config["JOB_STALL_MINUTES"])
    except Exception:  # never let job housekeeping hold up the notifications
        log.exception("failing stalled jobs")
    return relay_outbox.run()


@shared_task(name="lims.expiry_checks", ignore_result=True)
def expiry_checks() -> dict:
    from .schedule import expiry_checks as run

    return run()


@shared_task(name="lims.transit_checks", ignore_result=True)
def transit_checks() -> int:
    from .schedule import transit_checks as run

    return run()
