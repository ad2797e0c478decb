"""A ZPL network printer on a TCP port, for the tests and the demo: it answers ``~HS`` and keeps
every other payload as a received job instead of printing it.

Its ``mode`` says how it behaves, and can change at any time:

- ``ok``: answers ``~HS`` with no problem and records each connection's payload as a job;
- ``refuse``: closes every connection at once without reading (a stopped emulator refuses
  at TCP level);
- ``hang``: takes connections and neither answers nor closes them until it stops;
- ``paper_out``, ``paused``, ``head_open``, ``ribbon_out``: reports that in ``~HS`` and
  records nothing.

``python -m lims.printers.emulator --port 9101 --port 9102`` runs one per port and prints a
line per job until Ctrl-C.
"""

from __future__ import annotations

import argparse
import re
import socket
import socketserver
import threading
import time
from collections.abc import Callable

from .zpl import HS, HostStatus, host_status_reply

MODES = ("ok", "refuse", "hang", "paper_out", "paused", "head_open", "ribbon_out")
_PROBLEM_MODES = {"paper_out", "paused", "head_open", "ribbon_out"}
_TICK = 0.05  # seconds between looks at the stop flag

_FIELD = re.compile(rb"\^FD(.*?)\^FS", re.DOTALL)
_FIELD_HEX = re.compile(rb"\^FH([^\^~]?)")


def fields(zpl: bytes) -> list[str]:
    """The field data (``^FD…^FS``) in order, as the printer prints it: ``^FH`` hex escapes
    (``_C5_81``) decoded and the bytes read as UTF-8 (``^CI28``, as ``lims.labels`` writes)."""
    found = []
    field_start = 0
    for match in _FIELD.finditer(zpl):
        data = match[1]
        hexed = _FIELD_HEX.search(zpl, field_start, match.start())
        if hexed:
            indicator = re.escape(hexed[1] or b"_")
            data = re.sub(
                indicator + rb"([0-9A-Fa-f]{2})", lambda m: bytes.fromhex(m[1].decode()), data
            )
        found.append(data.decode(errors="replace"))
        field_start = match.end()
    return found


class ZplPrinterEmulator:
    """A printer on ``host``:``port`` (0: a free port, see ``.port`` once started)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "emulator",
        *,
        mode: str = "ok",
        idle_timeout: float = 2.0,
        on_job: Callable[[bytes], None] | None = None,
    ) -> None:
        self.host = host
        self.name = name
        self.idle_timeout = idle_timeout  # a connection silent this long ends, as if closed
        self.on_job = on_job
        self._port = port
        self._lock = threading.Condition()
        self._jobs: list[bytes] = []
        self._connections = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self.mode = mode

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._mode = mode

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def jobs(self) -> list[bytes]:
        """The jobs received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._jobs)

    @property
    def connections(self) -> int:
        """How many connections it has taken, ``~HS`` questions included."""
        with self._lock:
            return self._connections

    def wait_for_jobs(self, n: int, timeout: float = 5) -> list[bytes]:
        """The jobs once there are ``n``, or those there are when ``timeout`` passes."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._jobs) >= n, timeout)
            return list(self._jobs)

    def start(self) -> ZplPrinterEmulator:
        self._stopping.clear()
        self._server = _Server((self.host, self._port), _Connection)
        self._server.emulator = self
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _TICK},
            name=f"zpl-emulator-{self.name}",
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening and end the open connections, hanging ones included."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._port = self._server.server_address[1]
        self._server = None

    def __enter__(self) -> ZplPrinterEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _status(self) -> HostStatus:
        mode = self.mode
        return HostStatus(**{mode: True}) if mode in _PROBLEM_MODES else HostStatus()

    def _record(self, job: bytes) -> None:
        with self._lock:
            self._jobs.append(job)
            self._lock.notify_all()
        if self.on_job:
            self.on_job(job)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    emulator: ZplPrinterEmulator


class _Connection(socketserver.BaseRequestHandler):
    """One client: answers each ``~HS`` as it arrives, keeps the rest as the job."""

    def handle(self) -> None:
        emulator = self.server.emulator  # type: ignore[attr-defined]
        with emulator._lock:
            emulator._connections += 1
        if emulator.mode == "refuse":
            return
        if emulator.mode == "hang":
            emulator._stopping.wait()
            return
        received = self._read(emulator)
        job = received.replace(HS, b"")
        if job.strip() and emulator.mode == "ok":
            emulator._record(job)

    def _read(self, emulator: ZplPrinterEmulator) -> bytes:
        """Everything the client sends until it closes, falls silent or the emulator stops."""
        sock: socket.socket = self.request
        sock.settimeout(_TICK)
        received = b""
        answered = 0
        silent_since = time.monotonic()
        while not emulator._stopping.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if time.monotonic() - silent_since > emulator.idle_timeout:
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            silent_since = time.monotonic()
            received += chunk
            asked = received.count(HS)
            if asked > answered:
                if emulator.mode == "hang":
                    emulator._stopping.wait()
                    break
                sock.sendall(host_status_reply(emulator._status()) * (asked - answered))
                answered = asked
        return received


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lims.printers.emulator",
        description="ZPL network printer emulators: one per port, a line per job received.",
    )
    parser.add_argument("--port", type=int, action="append", required=True, help="repeatable")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mode", choices=MODES, default="ok")
    args = parser.parse_args(argv)

    def printer(port: int) -> ZplPrinterEmulator:
        emulator = ZplPrinterEmulator(args.host, port, mode=args.mode).start()
        emulator.name = f"emulator-{emulator.port}"

        def report(job: bytes) -> None:
            print(f"{emulator.name}: {len(job)} bytes: {' | '.join(fields(job))}", flush=True)

        emulator.on_job = report
        return emulator

    emulators = [printer(port) for port in args.port]
    try:
        for emulator in emulators:
            print(f"{emulator.name} listening on {emulator.host}:{emulator.port}", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for emulator in emulators:
            emulator.stop()


if __name__ == "__main__":
    main()
