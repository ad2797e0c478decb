"""The pytest plugin of the validation package (registered by ``tests/conftest.py``).

- A test marked ``@pytest.mark.req("P11-8", …)`` names the requirements it demonstrates. An
  id that is not in ``lims/domain/requirements.toml`` (or a marker with no id) makes the test
  fail at setup, saying which id is unknown: a typo never quietly drops a test from the
  traceability matrix.
- ``--validation-results PATH`` writes what the run did as JSON: when it started and
  finished, pytest's arguments, and for every test its node id, requirement ids, outcome
  (passed, failed, error, skipped, xfailed, xpassed), duration and, for anything but a pass,
  the short message (the assertion, the skip reason).

With pytest-xdist the controller writes the file: it receives every worker's reports through
``pytest_runtest_logreport``. The requirement ids travel on the report as a user property
(``("req", [ids])``), which xdist serialises with it.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

OPTION = "--validation-results"
PROPERTY = "req"  # the user property that carries a test's requirement ids
MESSAGE_MAX = 4000  # characters of a failure's text kept in the results
FORMAT = "lims-validation-results/1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION,
        metavar="PATH",
        default=None,
        help="write every test's requirement ids, outcome, duration and message as JSON",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not any(line.split("(")[0].split(":")[0] == PROPERTY for line in config.getini("markers")):
        config.addinivalue_line(  # a run outside this checkout (pytester) knows it too
            "markers",
            "req(*ids): the requirements (lims/domain/requirements.toml) this test demonstrates",
        )
    path = config.getoption(OPTION, None)
    if path and not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config.pluginmanager.register(ResultsWriter(config, Path(path)), "lims-validation-results")


def marked_ids(item: pytest.Item) -> list[str]:
    """Every id the item's ``req`` markers name, in order, once each."""
    ids: list[str] = []
    for marker in item.iter_markers(PROPERTY):
        for value in marker.args:
            for one in value if isinstance(value, list | tuple) else [value]:
                if one not in ids:
                    ids.append(one)
    return ids


@cache
def _known_ids() -> frozenset[str]:
    from lims.domain.requirements import by_id

    return frozenset(by_id())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(PROPERTY) is not None:
            item.user_properties.append((PROPERTY, marked_ids(item)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``req`` marker must name known requirement ids, at least one."""
    if item.get_closest_marker(PROPERTY) is None:
        return
    ids = marked_ids(item)
    if not ids:
        pytest.fail("@pytest.mark.req names no requirement id", pytrace=False)
    bad = [i for i in ids if not isinstance(i, str)]
    unknown = sorted(i for i in ids if isinstance(i, str) and i not in _known_ids())
    if bad or unknown:
        named = ", ".join([*(repr(i) for i in bad), *unknown])
        pytest.fail(
            f"unknown requirement id(s) in @pytest.mark.req: {named} "
            "(not in lims/domain/requirements.toml)",
            pytrace=False,
        )


# ---------------------------------------------------------------------------- results


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def short_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The few lines that say why: the crash line of a failure, the reason of a skip."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) if crash is not None else None
    if not text:
        text = str(longrepr)
        lines = [line for line in text.splitlines() if line.strip()]
        text = "\n".join(lines[-12:])
    if len(text) > MESSAGE_MAX:
        text = text[: MESSAGE_MAX - 1] + "…"
    return text


class ResultsWriter:
    """Gathers each test's phases (setup, call, teardown) into one result; writes at the end."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path
        self.started = _now()
        self.tests: dict[str, dict[str, Any]] = {}
        self.collection_errors: list[dict[str, str]] = []

    def _test(self, report: pytest.TestReport) -> dict[str, Any]:
        found = self.tests.get(report.nodeid)
        if found is None:
            ids: list[str] = []
            for name, value in report.user_properties:
                if name == PROPERTY:
                    ids = [str(v) for v in value]
            found = self.tests[report.nodeid] = {
                "nodeid": report.nodeid,
                "requirements": ids,
                "outcome": None,
                "duration": 0.0,
                "message": "",
                "phase": None,
            }
        return found

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self._test(report)
        test["duration"] = round(test["duration"] + (report.duration or 0.0), 4)
        outcome = None
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            else:
                outcome = report.outcome  # passed, failed, skipped
        elif report.failed:  # setup or teardown broke: an error, whatever the call did
            outcome = "error"
        elif report.skipped and report.when == "setup":
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        if outcome is None:
            return
        if test["outcome"] == "error":
            return  # an error stays one
        if outcome == "error" and test["outcome"] in ("failed", "passed"):
            # a broken teardown after a call: both are said
            test["message"] = "\n".join(
                m for m in (test["message"], f"teardown: {short_message(report)}") if m
            )
            test["outcome"], test["phase"] = "error", report.when
            return
        test["outcome"], test["phase"] = outcome, report.when
        if outcome == "xfailed":
            test["message"] = str(getattr(report, "wasxfail", "")) or short_message(report)
        elif outcome not in ("passed",):
            test["message"] = short_message(report)

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                {"nodeid": report.nodeid or "(collection)", "message": short_message(report)}
            )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        tests = sorted(self.tests.values(), key=lambda t: t["nodeid"])
        for test in tests:
            test["outcome"] = test["outcome"] or "error"  # reported, never finished
        counts: dict[str, int] = {}
        for test in tests:
            counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
        results = {
            "format": FORMAT,
            "started_at": self.started,
            "finished_at": _now(),
            "args": [str(a) for a in self.config.invocation_params.args],
            "python": sys.version.split()[0],
            "pytest": pytest.__version__,
            "workers": os.environ.get("PYTEST_XDIST_WORKER_COUNT")
            or str(getattr(self.config.option, "numprocesses", None) or 0),
            "exit_status": int(exitstatus),
            "counts": counts,
            "collection_errors": self.collection_errors,
            "tests": tests,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
