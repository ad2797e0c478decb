"""Celery tasks for long jobs (issue 5): a verification of the whole ledger with progress.

The work and its bookkeeping live in ``lims.services.jobs``; the task only names it. It is
acknowledged when received (not late): a job a worker took is ``running`` in its row, so a
redelivered message would be skipped anyway, and a verification longer than the broker's
visibility timeout must not be handed to a second worker meanwhile. QA starts another.
"""

from __future__ import annotations

from celery import shared_task

from ..services.custody import jobs


@shared_task(name="lims.ledger_verify_job", ignore_result=True, acks_late=False)
def ledger_verify_job(job_id: int) -> str:
    return jobs.run_ledger_verify(job_id)


@shared_task(name="lims.issue_head_receipt", ignore_result=True)
def issue_head_receipt() -> int | None:
    """Beat's periodic signed head receipt (``HEAD_RECEIPT_MINUTES``); none when the head has
    not moved since the last one. Returns the signed entry number, if one was signed."""
    from ..services.custody import receipts

    issued = receipts.issue_if_moved()
    return issued["seq"] if issued else None
