"""The audit workspace for QA: verify the custody ledger's hash chain with a progress bar.

A verification of a large ledger takes longer than a request should, so the button starts
a job (``lims.services.jobs``) and the job's page shows its progress: the state as of
loading, and, with JavaScript, a bar polled from the job's JSON every second. The quick
check from the last intact receipt (decision 94) runs in the request and leads to the same
page, its job recorded finished.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ...domain.errors import Conflict
from ...security import roles_required
from ...services.custody import jobs, quick_check
from . import bp
from .access import AUDITORS


def _viewer():
    return current_user._get_current_object()


@bp.get("/verify")
@roles_required(*AUDITORS)
def verify() -> ResponseReturnValue:
    recent = jobs.recent_jobs(_viewer(), kind=jobs.VERIFICATIONS)
    return render_template("audit/verify.html", recent=recent)


@bp.post("/verify")
@roles_required(*AUDITORS)
def start_verify() -> ResponseReturnValue:
    try:
        job = jobs.start_ledger_verify(_viewer())
    except Conflict as exc:  # one is running already: show it rather than start another
        flash(exc.message, "info")
        job = jobs.recent_jobs(_viewer(), limit=1)[0]
    return redirect(url_for("audit.job", job_id=job.id))


@bp.post("/verify/quick")
@roles_required(*AUDITORS)
def quick_verify() -> ResponseReturnValue:
    """Quick check from the last intact receipt: nothing to start from is said on the page
    with the full verification's button beside it."""
    try:
        job = quick_check.run(_viewer())
    except Conflict as exc:
        flash(exc.message, "info")
        return redirect(url_for("audit.verify"))
    return redirect(url_for("audit.job", job_id=job.id))


@bp.get("/jobs/<id:job_id>")
@roles_required(*AUDITORS)
def job(job_id: int) -> ResponseReturnValue:
    return render_template("audit/job.html", job=jobs.get_job(job_id, _viewer()))


@bp.get("/jobs/<id:job_id>.json")
@roles_required(*AUDITORS)
def job_json(job_id: int) -> ResponseReturnValue:
    """What the page's script polls: the bar's value and maximum, and the words to say."""
    job = jobs.get_job(job_id, _viewer())
    response = jsonify(
        {
            "id": job.id,
            "status": job.status,
            "progress": job.progress,
            "total": job.total,
            "percent": job.percent,
            "finished": job.finished,
            "summary": job.summary,
            "result": job.result,
            "error": job.error,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response
