"""Every claimed requirement is demonstrated by a test, and every test names real requirements.

The test files are read with ``ast``, never imported: a ``@pytest.mark.req("P11-8", …)``
decorator on a test function, method or class, or ``pytestmark = pytest.mark.req(…)`` (alone
or in a list) in a module or class, claims the requirements of ``lims/domain/requirements.toml``
it names. Ids must be string literals, so that this check (and a reader) sees them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from lims.domain.requirements import PLANNED, REQUIREMENTS, by_id, claimed

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


@dataclass
class Marker:
    where: str  # path:line
    target: str  # the test (or class, or module) it marks
    ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _is_req(node: ast.expr) -> bool:
    """``pytest.mark.req`` or ``mark.req`` (after ``from pytest import mark``)."""
    if not (isinstance(node, ast.Attribute) and node.attr == "req"):
        return False
    mark = node.value
    if isinstance(mark, ast.Name):
        return mark.id == "mark"
    return (
        isinstance(mark, ast.Attribute)
        and mark.attr == "mark"
        and isinstance(mark.value, ast.Name)
        and mark.value.id == "pytest"
    )


def _marker(node: ast.expr, where: str, target: str) -> Marker | None:
    """The marker ``node`` spells, or None when it is some other expression."""
    if _is_req(node):  # @pytest.mark.req without a call: names nothing
        return Marker(where, target, problems=["@pytest.mark.req names no requirement id"])
    if not (isinstance(node, ast.Call) and _is_req(node.func)):
        return None
    found = Marker(where, target)
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.ids.append(arg.value)
        else:
            found.problems.append(f"{ast.unparse(arg)} is not a requirement id written as text")
    if node.keywords:
        found.problems.append("req takes requirement ids only, no keywords")
    if not node.args:
        found.problems.append("@pytest.mark.req names no requirement id")
    return found


def _pytestmark(statement: ast.stmt) -> list[ast.expr]:
    """The marks of a ``pytestmark = …`` assignment (one mark, or a list or tuple of them)."""
    if not (
        isinstance(statement, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets)
    ):
        return []
    value = statement.value
    return list(value.elts) if isinstance(value, ast.List | ast.Tuple) else [value]


def scan(source: str, path: str) -> list[Marker]:
    """Every ``req`` marker in one test file's source, with where it stands."""
    tree = ast.parse(source, filename=path)
    markers: list[Marker] = []

    def take(node: ast.expr, target: str) -> None:
        found = _marker(node, f"{path}:{node.lineno}", target)
        if found is not None:
            markers.append(found)

    for statement in tree.body:
        for mark in _pytestmark(statement):
            take(mark, "module")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                before = len(markers)
                take(decorator, node.name)
                is_test = node.name.startswith("Test" if isinstance(node, ast.ClassDef) else "test")
                if len(markers) > before and not is_test:
                    markers[-1].problems.append(
                        f"{node.name} is not a test pytest collects: the marker claims nothing"
                    )
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                for mark in _pytestmark(statement):
                    take(mark, node.name)
    return markers


def all_markers() -> list[Marker]:
    markers: list[Marker] = []
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        markers.extend(scan(path.read_text(encoding="utf-8"), name))
    return markers


def test_every_marker_names_known_requirements_as_text():
    known = by_id()
    wrong = []
    for marker in all_markers():
        wrong += [f"{marker.where} ({marker.target}): {p}" for p in marker.problems]
        wrong += [
            f"{marker.where} ({marker.target}): unknown requirement id {rid!r}"
            for rid in marker.ids
            if rid not in known
        ]
    assert not wrong, "markers that name no known requirement:\n" + "\n".join(wrong)


def test_every_claimed_requirement_has_a_marked_test():
    marked = {rid for marker in all_markers() for rid in marker.ids}
    missing = [r.id for r in claimed() if r.id not in marked]
    assert not missing, (
        "claimed requirements no test demonstrates (mark one with @pytest.mark.req, or give "
        f'the requirement `planned = "not built yet: …"`): {", ".join(missing)}'
    )


def test_planned_requirements_say_what_is_missing():
    planned = [r for r in REQUIREMENTS if r.planned is not None]
    # None is planned since adverse reactions were built (decision 113); one added must say
    # what is missing, and is not claimed.
    for requirement in planned:
        assert PLANNED.match(requirement.planned), requirement
        assert requirement not in claimed()
    assert len(claimed()) + len(planned) == len(REQUIREMENTS)


# ---------------------------------------------------------------- the scanner itself

SAMPLE = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.req("T-1"), pytest.mark.skip]


@pytest.mark.parametrize("x", [1])
@pytest.mark.req("P11-8", "P11-9")
def test_function(x):
    pass


@mark.req("F-2")
async def test_coroutine():
    pass


@pytest.mark.req("I-1")
class TestGroup:
    pytestmark = pytest.mark.req("I-2")

    @pytest.mark.req("A11-2")
    def test_method(self):
        pass


IDS = ("T-2",)


@pytest.mark.req(*IDS)
def test_ids_from_a_name():
    pass


@pytest.mark.req
def test_bare_marker():
    pass


@pytest.mark.req("T-3")
def helper():
    pass


def test_in_a_string():
    text = '@pytest.mark.req("NOT-A-MARKER")'
"""


def test_the_scanner_reads_every_way_of_marking_and_nothing_else():
    markers = scan(SAMPLE, "tests/sample.py")
    found = {(m.where, m.target, tuple(m.ids)) for m in markers if not m.problems}
    assert found == {
        ("tests/sample.py:5", "module", ("T-1",)),
        ("tests/sample.py:9", "test_function", ("P11-8", "P11-9")),
        ("tests/sample.py:14", "test_coroutine", ("F-2",)),
        ("tests/sample.py:19", "TestGroup", ("I-1",)),
        ("tests/sample.py:21", "TestGroup", ("I-2",)),
        ("tests/sample.py:23", "test_method", ("A11-2",)),
    }
    problems = {m.target: m.problems for m in markers if m.problems}
    assert problems == {
        "test_ids_from_a_name": ["*IDS is not a requirement id written as text"],
        "test_bare_marker": ["@pytest.mark.req names no requirement id"],
        "helper": ["helper is not a test pytest collects: the marker claims nothing"],
    }


def test_the_scan_of_the_suite_finds_the_markers_of_this_package():
    """A scan that silently found nothing would pass the checks above for the wrong reason."""
    markers = all_markers()
    where = {m.where.split(":")[0] for m in markers}
    assert "tests/service/test_ledger_tamper.py" in where
    assert "tests/unit/test_identifiers.py" in where
    assert len(markers) >= len(claimed())
