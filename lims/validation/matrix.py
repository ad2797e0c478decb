"""The traceability matrix: each requirement, the marked tests that demonstrate it, and what
they did in this run.

A requirement is **met** when it is claimed (not ``planned``), at least one of its tests
passed and none failed or broke. Otherwise it is **not met**, and the matrix says why:
planned (with what is planned), no test marked, a test failed, or no test passed (all were
skipped, or none ran). Every requirement of the list appears, met or not; a test that names
an id the list does not know is listed apart (the plugin fails it at setup).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BAD = ("failed", "error")
GOOD = ("passed",)  # an xfail or an xpass demonstrates nothing either way

MET, NOT_MET = "met", "not met"


def oq_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every test of the run, as the operational qualification lists it."""
    rows = [
        {
            "nodeid": t["nodeid"],
            "requirements": list(t.get("requirements") or []),
            "outcome": t.get("outcome") or "error",
            "duration": float(t.get("duration") or 0.0),
            "message": t.get("message") or "",
        }
        for t in results.get("tests", [])
    ]
    rows += [
        {
            "nodeid": e.get("nodeid") or "(collection)",
            "requirements": [],
            "outcome": "error",
            "duration": 0.0,
            "message": "collection error: " + (e.get("message") or ""),
        }
        for e in results.get("collection_errors", [])
    ]
    return sorted(rows, key=lambda r: r["nodeid"])


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    found = dict.fromkeys(("passed", "failed", "error", "skipped", "xfailed", "xpassed"), 0)
    total = 0
    for row in rows:
        found[row["outcome"]] = found.get(row["outcome"], 0) + 1
        total += 1
    found["total"] = total
    return found


def _judge(planned: str | None, tests: list[Mapping[str, Any]]) -> tuple[str, str]:
    if planned:
        return NOT_MET, f"planned: {planned}"
    if not tests:
        return NOT_MET, "no test is marked with this requirement"
    bad = [t for t in tests if t["outcome"] in BAD]
    if bad:
        return NOT_MET, f"{len(bad)} of {len(tests)} test(s) failed or broke"
    passed = [t for t in tests if t["outcome"] in GOOD]
    if not passed:
        return NOT_MET, f"none of its {len(tests)} test(s) passed in this run (skipped)"
    return MET, f"{len(passed)} of {len(tests)} test(s) passed"


def build(requirements: Iterable[Any], rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The matrix (one row per requirement, in the list's order), the tests naming unknown
    ids, and the counts."""
    requirements = list(requirements)
    known = {r.id for r in requirements}
    by_requirement: dict[str, list[Mapping[str, Any]]] = {r.id: [] for r in requirements}
    unknown: list[dict[str, Any]] = []
    for row in rows:
        for rid in row["requirements"]:
            if rid in by_requirement:
                by_requirement[rid].append(row)
        strangers = [rid for rid in row["requirements"] if rid not in known]
        if strangers:
            unknown.append({"nodeid": row["nodeid"], "ids": strangers})
    matrix = []
    for req in requirements:
        planned = getattr(req, "planned", None) or None
        tests = by_requirement[req.id]
        status, why = _judge(planned, tests)
        matrix.append(
            {
                "id": req.id,
                "source": getattr(req, "source", ""),
                "text": getattr(req, "text", ""),
                "how": getattr(req, "how", ""),
                "planned": planned,
                "claimed": planned is None,
                "status": status,
                "why": why,
                "tests": [
                    {"nodeid": t["nodeid"], "outcome": t["outcome"], "message": t["message"]}
                    for t in tests
                ],
            }
        )
    claimed = [m for m in matrix if m["claimed"]]
    summary = {
        "total": len(matrix),
        "met": sum(1 for m in matrix if m["status"] == MET),
        "claimed": len(claimed),
        "claimed_not_met": sum(1 for m in claimed if m["status"] != MET),
        "planned": len(matrix) - len(claimed),
    }
    return {"rows": matrix, "unknown_ids": unknown, "summary": summary}
