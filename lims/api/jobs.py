"""Long jobs on the ``api`` blueprint: start a verification of the whole ledger (202, with
the job's address) and poll the job. The synchronous ``GET /ledger/verify`` stays for
small ledgers and scripts.

Thin like the other routes: ``lims.services.jobs`` checks the role, queues and runs.
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from ..domain.roles import Role
from ..security import roles_required
from ..services.custody import jobs
from . import bp
from .respond import json_response
from .schemas import ChainBreakOut, JobOut, PersonOut, VerifyOut


def job_out(job: jobs.JobView) -> JobOut:
    result = None
    if job.result is not None:
        found = job.result.get("first_break")
        result = VerifyOut(
            intact=job.result["intact"],
            checked=job.result["checked"],
            head_seq=job.result["head_seq"],
            first_break=ChainBreakOut(**found) if found else None,
        )
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        total=job.total,
        percent=job.percent,
        result=result,
        error=job.error,
        summary=job.summary,
        started_by=PersonOut(id=job.started_by_id, name=job.started_by),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@bp.post("/ledger/verify-jobs")
@roles_required(Role.QA, Role.ADMIN)
def start_verify_job():
    """Queue a verification of the whole ledger; poll the job at its Location."""
    job = jobs.start_ledger_verify(current_user._get_current_object())
    return json_response(job_out(job), 202, Location=url_for("api.get_job", job_id=job.id))


@bp.get("/jobs/<id:job_id>")
@roles_required(Role.QA, Role.ADMIN)
def get_job(job_id: int):
    return json_response(job_out(jobs.get_job(job_id, current_user._get_current_object())))
