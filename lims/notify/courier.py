"""The embedded mode's delivery after the response: one thread per process.

Without Redis there is no worker to hand notifications to. Delivering inside the request
made every action wait for the inbox rows, the SMTP server and the webhook (60 ms and more
for a receipt); the courier takes the nudge instead and runs the same pipeline
(``relay.relay_and_deliver``) on a thread of its own, in an app context of its own, once the
request is answered. Nudges that arrive while it works coalesce into one more pass.

Nothing is lost if the process ends first: the events are in the outbox (written in the
action's transaction), and the next pass, in this process or another, relays every event
still pending. ``NOTIFY_IN_BACKGROUND = False`` (the tests' configuration) delivers inline.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask

log = logging.getLogger(__name__)
EXTENSION = "lims.courier"


class Courier:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def nudge(self) -> None:
        """There is something to deliver: wake the thread (started here, after a fork too)."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lims-courier", daemon=True)
                self._thread.start()
            self.idle.clear()
            self.wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every nudge so far has been worked off (tests wait on it)."""
        return self.idle.wait(timeout)

    def _run(self) -> None:
        from ..extensions import db
        from .relay import relay_and_deliver

        while True:
            self.wake.wait()
            with self._lock:
                self.wake.clear()
            try:
                with self.app.app_context():
                    try:
                        relay_and_deliver()
                    finally:
                        db.session.remove()
            except Exception:  # the outbox keeps the events: the next pass tries again
                log.exception("delivering notifications in the background failed")
            with self._lock:
                if not self.wake.is_set():
                    self.idle.set()


def courier(app: Flask) -> Courier:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = Courier(app)
    return found
