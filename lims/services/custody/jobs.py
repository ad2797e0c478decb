"""Long jobs: a verification of the whole custody ledger, run outside the request, with the
progress a page shows as a bar; and the record of QA's quick checks (decision 94), which run
in the request and are written here finished.

With a broker configured the job is a Celery task (``lims.ledger_verify_job``, queued by name); when the
broker cannot take it (Redis down), or in the embedded mode without Redis, it runs in a
background thread of this process with its own app context. Either way the same
:func:`run_ledger_verify` does the work and writes the job row in short transactions of its
own (claim, progress about every 1 %, the verdict), never in the transaction that reads the
ledger, so a page polling the row sees the bar move.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from ... import dispatch
from ...db import lock, transaction
from ...domain.errors import Conflict, Forbidden, NotFound
from ...domain.ledger_chain import VerifyResult, utc_iso
from ...domain.roles import Role
from ...extensions import db
from ...models import Job, User
from ...models.types import utcnow
from . import ledger

log = logging.getLogger(__name__)

LEDGER_VERIFY = "ledger_verify"
LEDGER_QUICK_VERIFY = "ledger_quick_verify"  # from the last intact receipt (decision 94)
VERIFICATIONS = (LEDGER_VERIFY, LEDGER_QUICK_VERIFY)
AUDITORS = frozenset({Role.QA, Role.ADMIN})
PROGRESS_STEPS = 100  # progress is written about every 1 %, never per entry
FINISHED = frozenset({"done", "failed"})
JOBS = Job.__table__


@dataclass(frozen=True)
class JobView:
    """A job as of one read: plain values, so nothing reopens a transaction to show it."""

    id: int
    kind: str
    status: str  # queued, running, done, failed
    progress: int
    total: int
    # done: intact, checked, head_seq, head_hash, first_break; an intact full verification
    # also verified_at and its signature; a quick check also from_seq, receipt, anchor_job,
    # verified_at and coverage (decision 94)
    result: dict[str, Any] | None
    error: str | None  # failed: why the job could not finish (not a verdict on the ledger)
    started_by_id: int
    started_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.finished else 0
        return min(100, self.progress * 100 // self.total)

    @property
    def intact(self) -> bool | None:
        """The verdict: None until the job is done."""
        return None if self.result is None else bool(self.result["intact"])

    @property
    def first_break(self) -> dict[str, Any] | None:
        return None if self.result is None else self.result.get("first_break")

    @property
    def quick(self) -> bool:
        return self.kind == LEDGER_QUICK_VERIFY

    @property
    def summary(self) -> str:
        """The state in one sentence, as the page and its live region say it."""
        if self.quick and self.status == "done":
            return quick_summary(self.result or {})
        if self.status == "queued":
            return f"Waiting to start: {self.total} entries to check."
        if self.status == "running":
            return f"Checking: {self.progress} of {self.total} entries ({self.percent} %)."
        if self.status == "failed":
            return f"The verification could not finish: {self.error}"
        result = self.result or {}
        if self.intact:
            return (
                f"Ledger intact: {result['checked']} entries verified, head #{result['head_seq']}."
            )
        found = self.first_break or {}
        where = f"entry #{found['seq']}" if found.get("seq") is not None else "the chain"
        return (
            f"LEDGER BROKEN at {where}: {found.get('problem')} "
            f"({result.get('checked', 0)} entries before it verified)."
        )


def quick_summary(result: dict[str, Any]) -> str:
    """A quick check's verdict, saying what it covered and what it did not re-read."""
    if result.get("intact"):
        return f"Ledger intact from receipt #{result['from_seq']}: {result['coverage']}."
    found = result.get("first_break") or {}
    where = f"entry #{found['seq']}" if found.get("seq") is not None else "the chain"
    return (
        f"LEDGER BROKEN at {where}: {found.get('problem')} (quick check from receipt "
        f"#{result['from_seq']}: {result.get('checked', 0)} entries after it verified before it)."
    )


def _view(job: Job, started_by: str | None = None) -> JobView:
    return JobView(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        total=job.total,
        result=job.data,
        error=job.error,
        started_by_id=job.started_by_id,
        started_by=started_by if started_by is not None else job.started_by.full_name,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _require_auditor(user: User, doing: str) -> None:
    if user.role not in {r.value for r in AUDITORS}:
        raise Forbidden(f"only QA or an administrator may {doing}", code="role_not_allowed")


# ---------------------------------------------------------------------------- starting


def start_ledger_verify(actor: User) -> JobView:
    """Queue a verification of the whole ledger (QA, admin) and hand it to a worker.

    One at a time: while one is queued or running (and not stalled), another is refused
    (409) naming it, so repeated presses cannot queue the whole ledger many times over."""
    _require_auditor(actor, "verify the ledger")
    with transaction():
        lock("lims.jobs.ledger_verify")
        running = _unfinished(LEDGER_VERIFY)
        if running is not None:
            raise Conflict(
                f"a verification is already {running.status} (job {running.id}, started by "
                f"{running.started_by.full_name}); wait for its verdict",
                code="job_running",
            )
        job = Job(
            kind=LEDGER_VERIFY,
            status="queued",
            progress=0,
            total=ledger.count(),
            started_by_id=actor.id,
            created_at=utcnow(),
        )
        db.session.add(job)
        db.session.flush()
        view = _view(job, started_by=actor.full_name)
    _dispatch(view.id)
    return view


def _unfinished(kind: str) -> Job | None:
    """The job of this kind still queued or running, unless it has stalled (the sweep fails
    those after ``JOB_STALL_MINUTES``)."""
    since = utcnow() - timedelta(minutes=current_app.config["JOB_STALL_MINUTES"])
    return db.session.scalars(
        select(Job)
        .where(
            Job.kind == kind,
            ((Job.status == "queued") & (Job.created_at >= since))
            | ((Job.status == "running") & (Job.started_at >= since)),
        )
        .limit(1)
    ).first()


def _dispatch(job_id: int) -> None:
    dispatch_job("lims.ledger_verify_job", job_id, run_ledger_verify, f"lims-job-{job_id}")


def dispatch_job(task: str, job_id: int, run: Callable[[int], Any], thread_name: str) -> None:
    """A queued job to a Celery worker (the task called ``task``) when a broker is configured;
    else, or if it cannot take the job, ``run(job_id)`` on a thread of this process with its
    own app context (a thread has no one to tell of a failure: the log does)."""
    app = current_app._get_current_object()

    def in_a_thread() -> None:
        threading.Thread(
            target=_run_in_thread, args=(app, job_id, run), name=thread_name, daemon=True
        ).start()

    dispatch.enqueue(task, job_id, here=in_a_thread, here_if_unreachable=True)


def _run_in_thread(app: Flask, job_id: int, run: Callable[[int], Any]) -> None:
    with app.app_context():
        try:
            run(job_id)
        except Exception:
            log.exception("job %s stopped", job_id)
        finally:
            db.session.remove()


# ---------------------------------------------------------------------------- running


def run_ledger_verify(job_id: int) -> str:
    """Claim a queued job, verify the ledger reporting progress, record the verdict.

    Returns the job's final status, or ``"skipped"`` when the job was not queued (another
    worker has it, or it is finished): running a delivered task twice does the work once.
    """
    total = claim(job_id)
    if total is None:
        return "skipped"
    progress = ProgressWriter(job_id, total)
    try:
        with ledger_reader():
            result = ledger.verify(progress=progress)
    except Exception as exc:
        log.exception("ledger verification job %s failed", job_id)
        finish(job_id, "failed", progress=progress.checked, error=describe(exc))
        return "failed"
    if result.intact:  # before the verdict, so a page that sees it sees the receipt too
        _receipt_after_verification(job_id)
    # Entries appended while it ran were checked too: the bar ends full.
    finish(
        job_id,
        "done",
        progress=result.checked,
        total=max(total, result.checked) if result.intact else total,
        result=_verdict(result, job_id),
    )
    return "done"


def _receipt_after_verification(job_id: int) -> None:
    """Without a broker there is no beat to issue head receipts: an intact verification
    issues one (when the head moved). A receipt that cannot be written fails nothing."""
    from . import receipts

    if not receipts.embedded():
        return
    try:
        receipts.issue_if_moved()
    except Exception:
        log.warning("no head receipt after job %s", job_id, exc_info=True)


def claim(job_id: int, kind: str | None = None) -> int | None:
    """Mark a queued job (of ``kind``, if given) running, in a short transaction of its own;
    its total, or None when it was not queued (delivered twice, or finished)."""
    condition = (JOBS.c.id == job_id) & (JOBS.c.status == "queued")
    if kind is not None:
        condition &= JOBS.c.kind == kind
    with db.engine.begin() as conn:
        claimed = conn.execute(
            update(JOBS).where(condition).values(status="running", started_at=utcnow())
        ).rowcount
        if not claimed:
            return None
        return conn.scalar(select(JOBS.c.total).where(JOBS.c.id == job_id))


class ProgressWriter:
    """The verifier's progress callback: a short transaction about every 1 % of the total."""

    def __init__(self, job_id: int, total: int) -> None:
        self.job_id = job_id
        self.step = max(1, total // PROGRESS_STEPS)
        self.checked = 0
        self._written = 0

    def __call__(self, checked: int) -> None:
        self.checked = checked
        if checked - self._written < self.step:
            return
        self._written = checked
        try:
            with db.engine.begin() as conn:
                conn.execute(update(JOBS).where(JOBS.c.id == self.job_id).values(progress=checked))
        except SQLAlchemyError:  # a busy database: the bar skips a step, the check goes on
            log.warning("progress of job %s not written", self.job_id, exc_info=True)


def finish(job_id: int, status: str, **values: Any) -> None:
    if "result" in values:
        values["result"] = json.dumps(values["result"], sort_keys=True)
    with db.engine.begin() as conn:
        conn.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(status=status, finished_at=utcnow(), **values)
        )


def _verdict(result: VerifyResult, job_id: int | None = None) -> dict[str, Any]:
    """The verdict as the job row keeps it. An intact full verification also records the head
    it reached and its hash, signed with the ledger key: where a quick check may start from
    (decision 94)."""
    found = result.first_break
    verdict: dict[str, Any] = {
        "intact": result.intact,
        "checked": result.checked,
        "head_seq": result.last_seq,
        "head_hash": result.last_hash,
        "first_break": (
            {"seq": found.seq, "entry_id": found.entry_id, "problem": found.problem}
            if found
            else None
        ),
    }
    if result.intact and job_id is not None:
        verified_at = utc_iso(utcnow())
        verdict["verified_at"] = verified_at
        verdict["signature"] = ledger.verification_signature(
            job_id, result.last_seq, result.last_hash, verified_at
        )
    return verdict


def describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")
    dbapi_connection.execute("PRAGMA busy_timeout = 10000")


@contextmanager
def ledger_reader() -> Iterator[None]:
    """On SQLite, let ``db.session`` read the ledger through a plain read-only connection.

    Every transaction of the app's engine begins IMMEDIATE (``lims.sqlite``), taking the
    write lock at once: a verification reading the whole ledger in one would hold it until
    the end, so neither its own progress nor any unit action could be written meanwhile.
    A plain reader takes no write lock, and in WAL mode readers and writers pass each other.
    On PostgreSQL the session's read transaction blocks no writer: nothing to do.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield
        return
    reader = create_engine(engine.url, poolclass=NullPool)
    event.listen(reader, "connect", _read_only)
    registry = db.session.registry
    own = registry() if registry.has() else None  # the caller's session, put back after
    registry.set(Session(bind=reader))
    try:
        yield
    finally:
        registry().close()
        if own is not None:
            registry.set(own)
        else:
            registry.clear()
        reader.dispose()


# ---------------------------------------------------------------------------- reading


def get_job(job_id: int, viewer: User) -> JobView:
    _require_auditor(viewer, "see ledger verifications")
    job = db.session.get(Job, job_id)
    if job is None or job.kind not in VERIFICATIONS:  # other kinds have pages of their own
        raise NotFound(f"no job {job_id}", code="unknown_job")
    return _view(job)


def recent_jobs(
    viewer: User, kind: str | tuple[str, ...] = LEDGER_VERIFY, limit: int = 10
) -> list[JobView]:
    """The latest jobs of one kind (or of several), newest first."""
    _require_auditor(viewer, "see ledger verifications")
    kinds = (kind,) if isinstance(kind, str) else kind
    found = db.session.scalars(
        select(Job)
        .where(Job.kind.in_(kinds))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    return [_view(job) for job in found]


def record_quick_check(
    actor_id: int, started_by: str, started_at: datetime, result: dict[str, Any]
) -> JobView:
    """A quick check (decision 94) ran in the request: its job row, written finished, so it
    is listed with the verifications and has the same page."""
    with transaction():
        job = Job(
            kind=LEDGER_QUICK_VERIFY,
            status="done",
            progress=result["checked"],
            total=result["checked"],
            result=json.dumps(result, sort_keys=True),
            started_by_id=actor_id,
            created_at=started_at,
            started_at=started_at,
            finished_at=utcnow(),
        )
        db.session.add(job)
        db.session.flush()
        view = _view(job, started_by=started_by)
    return view


def fail_stalled(max_minutes: int) -> int:
    """Jobs whose process died (started, or queued, longer ago than any run takes) are failed
    with the reason, so the page stops waiting and QA starts another; returns how many."""
    limit = utcnow() - timedelta(minutes=max_minutes)
    with db.engine.begin() as conn:
        stalled = conn.execute(
            update(JOBS)
            .where(
                ((JOBS.c.status == "running") & (JOBS.c.started_at < limit))
                | ((JOBS.c.status == "queued") & (JOBS.c.created_at < limit))
            )
            .values(
                status="failed",
                finished_at=utcnow(),
                error=f"no result after {max_minutes} minutes: the process running it stopped; "
                "start the verification again",
            )
        ).rowcount
    return stalled or 0
