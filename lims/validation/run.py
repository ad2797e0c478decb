"""The operational qualification's test run: the marked tests (``-m req``) in a pytest of
their own, with this environment, and the results file it writes.

``LIMS_TEST_DATABASE_URL``, ``LIMS_TEST_REDIS_URL`` and ``LIMS_REQUIRE_SERVICES`` pass through
unchanged, so the PostgreSQL and Redis variants run whenever they are configured (and fail,
rather than skip, with ``LIMS_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]  # the checkout: tests/ and pyproject.toml
FORMAT = "lims-validation-results/1"


class ResultsError(RuntimeError):
    """A results file that cannot be read (missing, not JSON, not ours)."""


@dataclass(frozen=True)
class Run:
    results: dict[str, Any]
    command: list[str]
    returncode: int | None  # None: read from a file given
    output_tail: str


def command(results_path: Path, workers: int, extra: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-m", "req", "-q", "-p", "no:cacheprovider"]
    if workers > 0:
        cmd += ["-n", str(workers)]
    cmd += ["--validation-results", str(results_path), *(extra or [])]
    return cmd


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # A run started from inside a test process is a fresh run, not one of its workers.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    return env


def _same_database(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        one, two = make_url(a), make_url(b)
    except (ArgumentError, ValueError):  # an unreadable URL is nobody's database
        return False
    if one.get_backend_name() != two.get_backend_name():
        return False
    if one.get_backend_name() == "sqlite":
        return bool(one.database) and one.database == two.database
    return (one.host or "", one.port or 5432, one.database) == (
        two.host or "",
        two.port or 5432,
        two.database,
    )


def _redis_db(url: str, default: int = 0) -> tuple[str, int]:
    """(host:port, db number) of a Redis URL (Redis's own default db is 0; the tests' 15)."""
    parts = urlsplit(url)
    number = parts.path.strip("/")
    return f"{parts.hostname}:{parts.port or 6379}", int(number) if number.isdigit() else default


def clash(app_database: str, app_redis: str | None, workers: int) -> str | None:
    """Why the test run would empty the installation's own data, or None. The tests empty
    ``LIMS_TEST_DATABASE_URL`` (each xdist worker ``<name>_gw<i>``) and flush
    ``LIMS_TEST_REDIS_URL``'s db (each worker one below); none may be the app's."""
    from config import database_url

    test_db = os.environ.get("LIMS_TEST_DATABASE_URL")
    if test_db:
        test_db = database_url(test_db)
        names = [test_db]
        if workers > 0:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            with contextlib.suppress(ArgumentError, ValueError):
                url = make_url(test_db)
                names += [
                    url.set(database=f"{url.database}_gw{i}").render_as_string(hide_password=False)
                    for i in range(workers)
                ]
        if any(_same_database(name, app_database) for name in names):
            return (
                "LIMS_TEST_DATABASE_URL names this installation's own database: the tests "
                "would empty it; give them a database of their own"
            )
    test_redis = os.environ.get("LIMS_TEST_REDIS_URL")
    if test_redis and app_redis:
        host, first = _redis_db(test_redis, default=15)
        used = {(host, (first - i) % 16) for i in range(max(workers, 1))} | {(host, first)}
        if _redis_db(app_redis) in used:
            return (
                "LIMS_TEST_REDIS_URL reaches this installation's own Redis db: the tests "
                "would flush it; give them another db"
            )
    return None


def read_results(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        results = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"no results file at {path}") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path} is not a readable results file: {exc}") from None
    if not isinstance(results, dict) or results.get("format") != FORMAT:
        raise ResultsError(f"{path} was not written by --validation-results ({FORMAT})")
    return results


def run_marked_tests(workers: int = 2, extra: list[str] | None = None) -> Run:
    """Run every marked test; the results as the plugin wrote them (whatever pytest's exit)."""
    with tempfile.TemporaryDirectory(prefix="lims-validation-") as scratch:
        path = Path(scratch) / "results.json"
        cmd = command(path, workers, extra)
        done = subprocess.run(
            cmd,
            cwd=ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        if not path.exists():
            raise ResultsError(
                f"pytest wrote no results (exit {done.returncode}); its last words:\n{tail}"
            )
        return Run(read_results(path), cmd, done.returncode, tail)


def from_file(path: Path | str) -> Run:
    return Run(read_results(path), [], None, "")
