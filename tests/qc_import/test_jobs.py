"""A file with many results to record is imported by a job: a Celery task by name with a
broker, a thread of this process without one; progress in short transactions of its own, the
results recorded once however often the job is delivered, and a crash leaves what was
recorded recorded and says how to go on.

The test's own session must hold no SQLite transaction while a job's thread works, so each
read is rolled back at once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from config import celery_config
from lims.extensions import db
from lims.models import Job, QcResult
from lims.services.actions import units
from lims.services.station import qc_import
from lims.worker import tasks

HEADER = "Sample Name,Live Cell Count (cells/mL),Viability (%)\n"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"QC_IMPORT_JOB_RESULTS": 3}  # more than three results to record: a job


@pytest.fixture
def four(product, upload, instruments):
    """An import of two products' counts and viabilities: four results, so a job."""
    made = [product(), product()]
    text = HEADER + "".join(f"{u.barcode_data},2150000,88\n" for u in made)
    imp = upload(text.encode(), instruments["countess"])
    return imp, made


def settled(import_id: int, viewer, timeout: float = 60) -> qc_import.Summary:
    deadline = time.monotonic() + timeout
    while True:
        try:
            imp = qc_import.get_import(import_id, viewer)
            summary = qc_import.summary(imp)
        finally:
            db.session.rollback()
        if summary.finished:
            return summary
        assert time.monotonic() < deadline, f"the import did not finish: {summary}"
        time.sleep(0.05)


def recorded() -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(QcResult)) or 0
    finally:
        db.session.rollback()


def test_without_a_broker_a_thread_imports_with_progress(four, users):
    imp, _ = four

    done = qc_import.confirm(imp.id, users["technician"])
    db.session.rollback()

    assert done.job_id is not None
    summary = settled(imp.id, users["technician"])
    assert summary.status == "imported" and summary.job_status == "done"
    assert summary.progress == summary.total == 4 and summary.percent == 100
    assert summary.counts["imported"] == 4
    assert summary.words == "Imported: 4 results recorded, 0 refused."
    assert recorded() == 4
    assert qc_import.run_job(done.job_id) == "skipped"  # delivered again: nothing twice
    assert recorded() == 4


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple]] = []

    def send_task(self, name: str, args: tuple = (), **options: Any) -> None:
        self.sent.append((name, tuple(args)))


@pytest.fixture
def broker(app, monkeypatch) -> RecordingBroker:
    monkeypatch.setitem(app.config, "CELERY", celery_config("redis://broker.invalid:6379/0"))
    recorder = RecordingBroker()
    monkeypatch.setattr(app.extensions["celery"], "send_task", recorder.send_task)
    return recorder


def test_with_a_broker_the_job_is_the_celery_task_by_name(four, users, broker):
    imp, _ = four

    done = qc_import.confirm(imp.id, users["technician"])

    assert broker.sent == [("lims.qc_import_job", (done.job_id,))]
    summary = qc_import.summary(done.imp)
    assert summary.status == "importing" and summary.job_status == "queued"
    assert summary.words == "Waiting to start: 4 results to import."
    db.session.rollback()
    assert tasks.qc_import_job.name == "lims.qc_import_job"
    assert tasks.qc_import_job.run(done.job_id) == "done"  # what the worker runs
    assert tasks.qc_import_job.run(done.job_id) == "skipped"
    assert recorded() == 4
    assert settled(imp.id, users["technician"]).status == "imported"


def test_a_crash_fails_the_job_keeps_what_was_recorded_and_says_how_to_go_on(
    four, users, broker, monkeypatch, upload, instruments
):
    imp, _ = four
    real = units.perform_action
    calls = []

    def failing(*args: Any, **kwargs: Any):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    done = qc_import.confirm(imp.id, users["technician"])
    db.session.rollback()
    monkeypatch.setattr(units, "perform_action", failing)

    assert qc_import.run_job(done.job_id) == "failed"

    summary = settled(imp.id, users["technician"])
    assert summary.status == "failed"
    assert summary.error == "RuntimeError: the database went away"
    assert "upload the file again" in summary.words
    assert recorded() == 2
    job = db.session.get(Job, done.job_id)
    assert job.status == "failed" and job.progress == 2
    db.session.rollback()
    monkeypatch.setattr(units, "perform_action", real)
    # The same file again: the two on record are recognised, the rest imported.
    content = qc_import.get_import(imp.id, users["technician"]).content.encode()
    again = upload(content, instruments["countess"])
    assert [r["status"] for r in again.rows] == ["refused", "refused", "ready", "ready"]
    assert qc_import.confirm(again.id, users["technician"]).imp.imported_count == 2  # here
    assert recorded() == 4


def test_an_import_job_is_not_a_ledger_verification(four, users, broker, client, token):
    """The ledger verification's pages and ``GET /jobs/{id}`` read verifications only: an
    import's job there is no such job (404), never a verification's verdict or a 500."""
    imp, _ = four
    done = qc_import.confirm(imp.id, users["technician"])
    db.session.rollback()

    response = client.get(f"/api/v1/jobs/{done.job_id}", headers=token("qa"))

    assert response.status_code == 404, response.get_data()[:300]
    assert response.get_json()["error"]["code"] == "unknown_job"


def test_the_sweep_fails_an_import_whose_worker_died(four, users, broker):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from lims.services.custody import jobs

    imp, _ = four
    qc_import.confirm(imp.id, users["technician"])  # queued; no worker ever takes it
    db.session.rollback()
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61), tick=False):
        assert jobs.fail_stalled(60) == 1

    summary = settled(imp.id, users["technician"])
    assert summary.status == "failed"
    assert summary.words.startswith(
        "The import stopped: no result after 60 minutes: the process running it stopped. "
    )
    assert "upload the file again" in summary.words and recorded() == 0
