"""A print job through a real Celery worker on the real Redis: the request queues it and
returns, the worker sends the label to a ZPL printer emulator on 127.0.0.1 and marks the job
sent; a printer that refuses leaves the job failed with its words, and the retry goes through
the worker too."""

from __future__ import annotations

import pytest

from lims.extensions import db
from lims.models import PrintJob
from lims.printers.emulator import ZplPrinterEmulator, fields
from lims.services.station import printing

from .conftest import wait_for


@pytest.fixture(params=["postgresql"])
def backend(request) -> str:
    """The worker is another process sharing the database: PostgreSQL, as in production."""
    return request.param


@pytest.fixture
def app_config(notify_config) -> dict:
    return {**notify_config, "PRINT_IN_BACKGROUND": True}


def status_of(job_id: int) -> str:
    db.session.rollback()
    return db.session.get(PrintJob, job_id, populate_existing=True).status


def test_the_worker_sends_the_print_job(users, register, worker):
    admin, tech = users["admin"], users["technician"]
    with ZplPrinterEmulator() as emulator:
        made = printing.register_printer(
            {
                "name": "Tube 1",
                "kind": "zpl_tcp",
                "host": "127.0.0.1",
                "port": emulator.port,
                "stock": "tube",
            },
            admin,
        )
        printing.add_rule({"printer_id": made.id}, admin)
        unit = register("ADIPOSE")
        barcode = unit.barcode_data

        job = printing.print_label(
            printing.unit_subject(tech, unit.id), {}, tech, printing.Station()
        )
        assert job.status in ("queued", "sending", "sent")  # queued for the worker, not sent here
        job_id = job.id
        wait_for(lambda: status_of(job_id) == "sent", 60, "the worker to send the job")
        (received,) = emulator.wait_for_jobs(1)
        assert barcode in fields(received)

        emulator.mode = "refuse"
        second = printing.print_label(
            printing.unit_subject(tech, unit.id), {"reason": "smudged"}, tech, printing.Station()
        ).id
        wait_for(lambda: status_of(second) == "failed", 60, "the worker to fail the job")
        assert "closed the connection" in db.session.get(PrintJob, second).error

        emulator.mode = "ok"
        printing.retry(second, tech)
        wait_for(lambda: status_of(second) == "sent", 60, "the worker to send it again")
        assert len(emulator.wait_for_jobs(2)) == 2
