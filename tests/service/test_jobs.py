"""Long jobs: a verification of the whole ledger runs outside the request — in a
background thread without a broker, as a Celery task with one — and writes its progress and
verdict to the job row in short transactions of its own.

The test's own session must hold no SQLite transaction while a job's thread works (every
SQLite transaction here takes the write lock), so each read below is rolled back at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from config import celery_config
from lims.domain.errors import Forbidden, NotFound
from lims.domain.ledger_chain import VerifyResult
from lims.extensions import db
from lims.services.custody import jobs, ledger
from lims.worker import tasks

from .lab import triggers_off


def wait_until_finished(read: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Read the job until it is finished, holding no transaction between reads."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            job = read()
        finally:
            db.session.rollback()
        if job.finished if hasattr(job, "finished") else job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"the job did not finish in {timeout} s: {job}"
        time.sleep(0.05)


def finished(job_id: int, viewer) -> jobs.JobView:
    return wait_until_finished(lambda: jobs.get_job(job_id, viewer))


@pytest.fixture
def queued_only(monkeypatch) -> list[int]:
    """Jobs are created but not handed to anyone (the test runs them itself)."""
    handed: list[int] = []
    monkeypatch.setattr(jobs, "_dispatch", handed.append)
    return handed


def test_a_verification_runs_in_the_background_to_done(users, six_entries):
    started = jobs.start_ledger_verify(users["qa"])

    assert started.status == "queued" and started.total == 6 and started.progress == 0
    assert started.started_by == "Test Qa"
    job = finished(started.id, users["qa"])
    assert job.status == "done", job.error
    assert job.progress == job.total == 6 and job.percent == 100
    verdict = {k: job.result[k] for k in ("intact", "checked", "head_seq", "first_break")}
    assert verdict == {"intact": True, "checked": 6, "head_seq": 6, "first_break": None}
    # What a quick check may start from (decision 94): the head reached, signed.
    assert job.result["head_hash"] == ledger.verify().last_hash
    assert job.result["signature"] == ledger.verification_signature(
        job.id, 6, job.result["head_hash"], job.result["verified_at"]
    )
    assert job.summary == "Ledger intact: 6 entries verified, head #6."
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_an_admin_may_verify_too(users, six_entries):
    job = finished(jobs.start_ledger_verify(users["admin"]).id, users["admin"])

    assert job.intact is True


def test_a_tampered_ledger_gives_a_verdict_naming_the_first_broken_entry(users, six_entries):
    with triggers_off() as session:
        session.execute(text("UPDATE ledger_entries SET actor_name = 'Mallory' WHERE seq = 3"))

    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.status == "done"  # the job ran; its verdict is that the ledger is broken
    assert job.intact is False
    assert job.first_break["seq"] == 3
    assert "altered" in job.first_break["problem"]
    assert job.result["checked"] == 2 and job.progress == 2 and job.total == 6
    assert job.summary.startswith("LEDGER BROKEN at entry #3:")


def test_an_empty_ledger_verifies(users):
    db.session.commit()

    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.intact is True and job.total == 0 and job.percent == 100


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_only_qa_and_admins_verify_or_see_jobs(users, six_entries, queued_only, role):
    job = jobs.start_ledger_verify(users["qa"])

    with pytest.raises(Forbidden):
        jobs.start_ledger_verify(users[role])
    with pytest.raises(Forbidden):
        jobs.get_job(job.id, users[role])
    with pytest.raises(Forbidden):
        jobs.recent_jobs(users[role])
    assert [j.id for j in jobs.recent_jobs(users["qa"])] == [job.id]


def test_an_unknown_job_is_not_found(users):
    with pytest.raises(NotFound):
        jobs.get_job(424242, users["qa"])


def test_progress_is_written_about_every_percent_in_its_own_transactions(
    users, queued_only, monkeypatch
):
    """1000 entries: 100 progress writes, each visible to another connection at once."""
    seen_by_others: list[int] = []

    def fake_verify(progress):
        for checked in range(1, 1001):
            progress(checked)
            if checked == 500:
                with db.engine.connect() as other:
                    seen_by_others.append(
                        other.scalar(
                            text("SELECT progress FROM jobs WHERE id = :id"), {"id": job_id}
                        )
                    )
        return VerifyResult(1000, 1000, "f" * 64, None)

    monkeypatch.setattr(ledger, "count", lambda: 1000)
    monkeypatch.setattr(ledger, "verify", fake_verify)
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()
    writes: list[str] = []

    def count_updates(conn, cursor, statement, *args):
        if statement.startswith("UPDATE jobs"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_updates)
    try:
        assert jobs.run_ledger_verify(job_id) == "done"
    finally:
        event.remove(db.engine, "before_cursor_execute", count_updates)

    assert seen_by_others == [500]
    assert len(writes) == 1 + 100 + 1  # claim, progress every 10 entries, the verdict
    job = jobs.get_job(job_id, users["qa"])
    assert job.progress == job.total == 1000


def test_a_job_runs_once_however_often_it_is_delivered(users, six_entries, queued_only):
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()

    assert jobs.run_ledger_verify(job_id) == "done"
    assert jobs.run_ledger_verify(job_id) == "skipped"
    assert jobs.get_job(job_id, users["qa"]).progress == 6


def test_a_crash_in_the_verifier_fails_the_job_and_says_why(users, queued_only, monkeypatch):
    def broken_verify(progress):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(ledger, "verify", broken_verify)
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()

    assert jobs.run_ledger_verify(job_id) == "failed"
    job = jobs.get_job(job_id, users["qa"])
    assert job.status == "failed" and job.result is None
    assert job.error == "RuntimeError: the disk went away"
    assert job.summary == "The verification could not finish: RuntimeError: the disk went away"


# ---------------------------------------------------------------------------- with a broker


class RecordingBroker:
    """Stands in for the broker: each task that would have been sent, by name."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple]] = []

    def send_task(self, name: str, args: tuple = (), **options: Any) -> None:
        self.sent.append((name, tuple(args)))


@pytest.fixture
def broker(app, monkeypatch) -> RecordingBroker:
    """A broker is configured; what is queued is recorded instead of sent."""
    monkeypatch.setitem(app.config, "CELERY", celery_config("redis://broker.invalid:6379/0"))
    recorder = RecordingBroker()
    monkeypatch.setattr(app.extensions["celery"], "send_task", recorder.send_task)
    return recorder


TASK = tasks.ledger_verify_job


def test_with_a_broker_the_job_is_a_celery_task(users, six_entries, broker):
    job = jobs.start_ledger_verify(users["qa"])

    assert broker.sent == [("lims.ledger_verify_job", (job.id,))]
    assert jobs.get_job(job.id, users["qa"]).status == "queued"  # nothing ran here
    db.session.commit()
    assert TASK.name == "lims.ledger_verify_job"
    assert TASK.run(job.id) == "done"  # what the worker runs, in its app context
    assert jobs.get_job(job.id, users["qa"]).intact is True


def test_with_redis_down_the_job_runs_here_instead(app, users, six_entries, monkeypatch):
    """Nothing listens on the broker's port: queueing fails at once, a thread runs it."""
    down = "redis://127.0.0.1:1/0"
    monkeypatch.setitem(app.config, "CELERY", celery_config(down))
    monkeypatch.setattr(app.extensions["celery"].conf, "broker_url", down)
    before = time.monotonic()

    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.status == "done" and job.intact is True and job.progress == 6
    assert time.monotonic() - before < 10


def test_the_sweep_fails_a_job_whose_process_died(users, six_entries, queued_only):
    """Queued and never run (a lost message), or running when its worker died: after
    JOB_STALL_MINUTES the sweep fails it with the reason, and a fresh job is untouched."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    lost = jobs.start_ledger_verify(users["qa"])
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61), tick=False):
        fresh = jobs.start_ledger_verify(users["qa"])
        assert jobs.fail_stalled(60) == 1
        assert jobs.fail_stalled(60) == 0  # safe to run twice
    db.session.rollback()
    failed = jobs.get_job(lost.id, users["qa"])
    assert failed.status == "failed" and "stopped" in failed.error
    assert jobs.get_job(fresh.id, users["qa"]).status == "queued"
