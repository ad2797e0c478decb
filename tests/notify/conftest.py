"""Notification fixtures: a real Celery worker (a separate process) on the real Redis, a
local SMTP server (aiosmtpd) and a local webhook receiver that checks each signature.

The worker and the test share the PostgreSQL test database; these tests run on PostgreSQL
(the production pairing of Celery workers and a shared database)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "test-webhook-secret"
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---------------------------------------------------------------------------- SMTP


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd hook
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
        asyncio.set_event_loop(asyncio.new_event_loop())


# ---------------------------------------------------------------------------- webhook


@dataclass
class Receiver:
    port: int
    calls: list[dict[str, Any]] = field(default_factory=list)
    hold_first: threading.Event | None = None  # block the first call until set
    held: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def keys(self) -> list[str]:
        with self.lock:
            return [c["key"] for c in self.calls]


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    receiver = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = (
                "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            )
            call = {
                "key": self.headers.get("Idempotency-Key"),
                "signed": hmac.compare_digest(expected, self.headers.get("X-LIMS-Signature", "")),
                "body": json.loads(body),
            }
            with receiver.lock:
                receiver.calls.append(call)
                first = len(receiver.calls) == 1
            if first and receiver.hold_first is not None:
                receiver.held.set()
                receiver.hold_first.wait(60)
            self.send_response(200 if call["signed"] else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold_first is not None:
            receiver.hold_first.set()
        server.shutdown()
        thread.join(5)


# ---------------------------------------------------------------------------- Redis, cut at will


class TcpProxy:
    """Redis behind a plug: ``cut()`` drops every connection and refuses new ones, as a Redis
    outage looks to the app and the worker; ``restore()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.server: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self.sockets.clear()


@pytest.fixture
def redis_plug(redis_url) -> Iterator[tuple[TcpProxy, str]]:
    from urllib.parse import urlsplit

    parts = urlsplit(redis_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    proxy.restore()
    try:
        yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path}"
    finally:
        proxy.cut()


# ---------------------------------------------------------------------------- the worker


@pytest.fixture
def notify_config(redis_plug, smtp_server, webhook) -> dict[str, Any]:
    _, smtp_port = smtp_server
    _, plugged_url = redis_plug
    return {
        "REDIS_URL": plugged_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "WEBHOOK_URL": webhook.url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NOTIFY_LEASE_SECONDS": LEASE_SECONDS,
        "NOTIFY_BACKOFF_SECONDS": 1,
        "PUBLIC_URL": "http://lims.test",
    }


class Worker:
    """``celery -A celery_worker worker`` in its own process, with the test's settings."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.log.with_suffix(f".{self.starts}.log")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_worker",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: "ready." in log.read_text() or self.process.poll() is not None,
            60,
            "the Celery worker to be ready",
        )
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited:\n{log.read_text()[-3000:]}")

    def kill(self) -> None:
        """As a crash would: no warm shutdown, no acknowledgement."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def worker(app, notify_config, database_url, tmp_path) -> Iterator[Worker]:
    env = {
        **os.environ,
        "LIMS_ENV": "development",
        "LIMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "LEDGER_KEY": app.config["LEDGER_KEY"],
        "FACILITY_CODE": app.config["FACILITY_CODE"],
        **{k: str(v) for k, v in notify_config.items()},
        "NOTIFY_EXPIRY_WARNINGS_HOURS": "24,4,1",
    }
    running = Worker(env, tmp_path / "worker")
    running.start()
    try:
        yield running
    finally:
        running.stop()
