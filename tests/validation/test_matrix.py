"""The traceability matrix from a real pytest run: the plugin (``--validation-results``) run by
``pytester`` on a tiny test file, a passing and a deliberately failing marked test, a
skipped one, an unknown requirement id, and under pytest-xdist; then the matrix built from
the results it wrote. No database."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from lims.domain.requirements import by_id
from lims.validation import matrix

PLUGIN = "lims.validation.pytest_plugin"
KNOWN = "A11-3"  # the system is validated (this package's own requirement)

PASSING = f"""
import pytest

@pytest.mark.req("{KNOWN}")
def test_passes():
    assert 1 + 1 == 2

def test_unmarked():
    pass
"""

FAILING = f"""
import pytest

@pytest.mark.req("{KNOWN}")
def test_passes():
    assert True

@pytest.mark.req("{KNOWN}")
def test_fails_on_purpose():
    assert 2 + 2 == 5, "deliberately failing"

@pytest.mark.req("{KNOWN}")
@pytest.mark.skip(reason="no instrument attached")
def test_skipped():
    pass

@pytest.mark.req("NOPE-99")
def test_names_an_unknown_requirement():
    pass

@pytest.mark.req()
def test_names_no_requirement():
    pass

@pytest.mark.req("{KNOWN}")
@pytest.mark.xfail(reason="known gap", strict=True)
def test_expected_to_fail():
    assert False
"""


def _run(pytester: pytest.Pytester, source: str, *args: str) -> tuple[dict, pytest.RunResult]:
    pytester.makepyfile(test_tiny=source)
    path = pytester.path / "results.json"
    result = pytester.runpytest("-p", PLUGIN, "--validation-results", str(path), *args)
    return json.loads(path.read_text()), result


def _by_name(results: dict) -> dict[str, dict]:
    return {t["nodeid"].split("::")[-1]: t for t in results["tests"]}


def _known_only() -> list:
    return [by_id()[KNOWN]]


@pytest.mark.req("A11-3")
def test_a_passing_marked_test_meets_its_requirement(pytester):
    results, outcome = _run(pytester, PASSING)
    outcome.assert_outcomes(passed=2)
    tests = _by_name(results)
    assert tests["test_passes"] == {
        **tests["test_passes"],
        "requirements": [KNOWN],
        "outcome": "passed",
        "message": "",
    }
    assert tests["test_unmarked"]["requirements"] == []
    assert results["exit_status"] == 0 and results["started_at"] <= results["finished_at"]
    assert "--validation-results" in results["args"]

    traced = matrix.build(_known_only(), matrix.oq_rows(results))
    (row,) = traced["rows"]
    assert (row["id"], row["status"]) == (KNOWN, "met")
    assert [t["nodeid"].split("::")[-1] for t in row["tests"]] == ["test_passes"]
    assert traced["summary"] == {
        "total": 1,
        "met": 1,
        "claimed": 1,
        "claimed_not_met": 0,
        "planned": 0,
    }


@pytest.mark.req("A11-3")
def test_a_failing_marked_test_shows_failed_with_its_message_and_its_requirement_not_met(
    pytester,
):
    results, outcome = _run(pytester, FAILING)
    outcome.assert_outcomes(passed=1, failed=1, skipped=1, errors=2, xfailed=1)
    tests = _by_name(results)
    failed = tests["test_fails_on_purpose"]
    assert failed["outcome"] == "failed"
    assert "deliberately failing" in failed["message"]
    assert tests["test_skipped"]["outcome"] == "skipped"
    assert tests["test_skipped"]["message"] == "no instrument attached"
    assert tests["test_expected_to_fail"]["outcome"] == "xfailed"
    assert tests["test_expected_to_fail"]["message"] == "known gap"
    unknown = tests["test_names_an_unknown_requirement"]
    assert unknown["outcome"] == "error" and unknown["requirements"] == ["NOPE-99"]
    assert "unknown requirement id(s) in @pytest.mark.req: NOPE-99" in unknown["message"]
    nothing = tests["test_names_no_requirement"]
    assert nothing["outcome"] == "error" and "names no requirement id" in nothing["message"]
    outcome.stdout.fnmatch_lines(["*unknown requirement id(s)*NOPE-99*"])

    rows = matrix.oq_rows(results)
    traced = matrix.build(_known_only(), rows)
    (row,) = traced["rows"]
    assert row["status"] == "not met"
    assert row["why"] == "1 of 4 test(s) failed or broke"
    shown = {t["nodeid"].split("::")[-1]: t for t in row["tests"]}
    assert shown["test_fails_on_purpose"]["outcome"] == "failed"
    assert "deliberately failing" in shown["test_fails_on_purpose"]["message"]
    assert traced["unknown_ids"] == [
        {"nodeid": unknown["nodeid"], "ids": ["NOPE-99"]},
    ]
    assert traced["summary"]["claimed_not_met"] == 1
    assert matrix.counts(rows) == {
        "passed": 1,
        "failed": 1,
        "error": 2,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 0,
        "total": 6,
    }


def test_under_xdist_the_controller_writes_every_workers_results(pytester):
    results, _ = _run(pytester, FAILING, "-n", "2")
    tests = _by_name(results)
    assert len(tests) == 6
    assert tests["test_passes"]["requirements"] == [KNOWN]
    assert tests["test_fails_on_purpose"]["outcome"] == "failed"
    assert "deliberately failing" in tests["test_fails_on_purpose"]["message"]
    assert tests["test_names_an_unknown_requirement"]["outcome"] == "error"
    assert tests["test_skipped"]["message"] == "no instrument attached"


@dataclass(frozen=True)
class Req:
    id: str
    source: str = "test"
    text: str = "a requirement"
    how: str = ""
    planned: str | None = None


def _row(nodeid: str, outcome: str, *ids: str, message: str = "") -> dict:
    return {
        "nodeid": nodeid,
        "requirements": list(ids),
        "outcome": outcome,
        "duration": 0.1,
        "message": message,
    }


def test_no_requirement_is_hidden_and_each_says_why_it_is_not_met():
    reqs = [
        Req("R-1"),
        Req("R-2"),
        Req("R-3"),
        Req("R-4", planned="release 2.0: barcode printers"),
        Req("R-5"),
    ]
    rows = [
        _row("t::a", "passed", "R-1"),
        _row("t::b", "skipped", "R-2", message="PostgreSQL not available"),
        _row("t::c", "passed", "R-4"),  # planned: a passing test does not claim it
        _row("t::d", "passed", "R-5"),
        _row("t::e", "error", "R-5", message="fixture broke"),
    ]
    traced = matrix.build(reqs, rows)
    found = {r["id"]: (r["status"], r["why"]) for r in traced["rows"]}
    assert list(found) == ["R-1", "R-2", "R-3", "R-4", "R-5"]
    assert found == {
        "R-1": ("met", "1 of 1 test(s) passed"),
        "R-2": ("not met", "none of its 1 test(s) passed in this run (skipped)"),
        "R-3": ("not met", "no test is marked with this requirement"),
        "R-4": ("not met", "planned: release 2.0: barcode printers"),
        "R-5": ("not met", "1 of 2 test(s) failed or broke"),
    }
    assert traced["summary"] == {
        "total": 5,
        "met": 1,
        "claimed": 4,
        "claimed_not_met": 3,
        "planned": 1,
    }


def test_a_collection_error_is_listed_as_an_error():
    results = {
        "tests": [],
        "collection_errors": [{"nodeid": "tests/x.py", "message": "ImportError: no module y"}],
    }
    (row,) = matrix.oq_rows(results)
    assert (row["outcome"], row["nodeid"]) == ("error", "tests/x.py")
    assert "ImportError" in row["message"]
