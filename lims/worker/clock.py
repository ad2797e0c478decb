"""Beat's schedule kept in this process when there is no broker (decision 119).

With Redis, Celery beat runs the outbox sweep, the expiry and transit checks, the equipment
and reagent checks, the outcome reminders and the periodic head receipt. Without it (the
embedded mode, or a PostgreSQL installation that runs no Redis) nothing did: no "expires in
4 h" warning, no "transit overdue", no retry of a failed e-mail until the next action
happened to nudge the courier. The clock runs the same schedule (``CELERY["beat_schedule"]``,
the one list of names and intervals) on a thread of its own, each task by its in-process
counterpart below, inside an app context of its own.

Every task is safe to run more often than scheduled (each warning, flag and reminder is
written once under a unique key), so two processes each with a clock, or a clock and a
restarted one, do no harm. The thread starts with the first request a process serves, not
when the app is made: a ``flask`` command (the seed, a verification) starts no clock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app

from ..notify.relay import relay_and_deliver
from ..services.actions import schedule
from ..services.clinic import outcomes
from ..services.custody import jobs, receipts
from ..services.materials import warnings as materials_warnings

log = logging.getLogger(__name__)
EXTENSION = "lims.clock"


def _sweep_here() -> None:
    """Beat's sweep without a broker: stalled jobs failed, then the outbox relayed and what is
    due delivered here (retries whose back-off has passed among them)."""
    try:
        jobs.fail_stalled(current_app.config["JOB_STALL_MINUTES"])
    finally:
        relay_and_deliver()


# Each beat task's work as this process does it (the Celery tasks of ``worker.tasks`` call
# the same services; the sweep alone differs: it delivers here instead of queueing).
HERE: dict[str, Callable[[], object]] = {
    "lims.sweep": _sweep_here,
    "lims.expiry_checks": schedule.expiry_checks,
    "lims.transit_checks": schedule.transit_checks,
    "lims.materials_checks": materials_warnings.run_checks,
    "lims.outcome_reminders": outcomes.remind,
    "lims.issue_head_receipt": receipts.issue_if_moved,
}


class Clock:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.runs: dict[str, int] = {}  # task name -> times run (for the tests and the log)

    def ensure_started(self) -> None:
        """Start the thread if this process has none (a worker forked after the app was made
        has none of its parent's threads)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self.stopping.clear()
                self._thread = threading.Thread(target=self._run, name="lims-clock", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from ..extensions import db

        entries = self.app.config["CELERY"]["beat_schedule"].values()
        started = time.monotonic()
        due = {entry["task"]: started + float(entry["schedule"]) for entry in entries}
        every = {entry["task"]: float(entry["schedule"]) for entry in entries}
        while not self.stopping.wait(max(0.0, min(due.values()) - time.monotonic())):
            now = time.monotonic()
            for name in [n for n, at in due.items() if at <= now]:
                due[name] = now + every[name]
                try:
                    with self.app.app_context():
                        try:
                            HERE[name]()
                        finally:
                            db.session.remove()
                except Exception:  # the next round tries again; the work is idempotent
                    log.exception("the scheduled task %s failed in this process", name)
                self.runs[name] = self.runs.get(name, 0) + 1


def clock(app: Flask) -> Clock:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = Clock(app)
    return found


def init_app(app: Flask) -> None:
    """Without a broker, and unless ``EMBEDDED_BEAT`` is off, each process starts its clock
    with the first request it serves."""
    from ..dispatch import broker_configured

    if broker_configured(app.config) or not app.config.get("EMBEDDED_BEAT", True):
        return

    @app.before_request
    def _keep_time() -> None:
        clock(app).ensure_started()
