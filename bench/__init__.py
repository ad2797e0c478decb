"""Seeding at scale and benchmarks (see docs/performance.md).

Nothing in the application imports this package: it is a tool that drives the services,
or, for seeding, writes the same rows the services would write, only many at a time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from config import database_url as normalised
from lims import create_app

# A file of its own, never the development database, unless told otherwise.
DEFAULT_DATABASE_URL = f"sqlite:///{Path(tempfile.gettempdir()) / 'lims-bench.sqlite3'}"


def database_url(given: str | None) -> str:
    """``--database-url``, else ``BENCH_DATABASE_URL``, else a SQLite file in the temp dir;
    ``postgres://`` and ``postgresql://`` are read as the app reads ``DATABASE_URL``."""
    return normalised(given or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)


def make_app(url: str) -> Flask:
    """The application on ``url`` with the configuration of the environment (``LIMS_ENV``).

    The ledger key comes from that configuration too, so ``flask --app wsgi ledger verify``
    run with ``DATABASE_URL`` set to the same database checks the chain the seed wrote.
    """
    return create_app(None, SQLALCHEMY_DATABASE_URI=url)


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


def safe_url(url: str) -> str:
    """The URL without its password, for reports."""
    return make_url(url).render_as_string(hide_password=True)


def wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Until something listens on 127.0.0.1:``port``; the server's log if it stopped instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start:\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")
