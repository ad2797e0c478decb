"""QC tests, their specifications, and the verdict on a result (product §3, §7).

Data readable in one screen: which tests exist, what each product type must pass before
release, and the built-in specification of each (version 1). Admins publish later versions;
a result keeps the version it was judged against, so a changed specification never rewrites
an old judgement. Pass or fail is computed here, never typed.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"


@dataclass(frozen=True)
class QcTest:
    key: str
    name: str
    unit: str  # unit of measure for numbers; "" for qualitative results
    words: tuple[str, ...] = ()  # qualitative results: the words a result may be

    @property
    def is_numeric(self) -> bool:
        return not self.words


FLOW_POSITIVE = ("cd73", "cd90", "cd105")
FLOW_NEGATIVE = ("cd45", "cd34", "cd14", "cd19", "hla_dr")
FLOW_NAMES = {"hla_dr": "HLA-DR"}

TESTS: dict[str, QcTest] = {
    t.key: t
    for t in (
        QcTest("viable_cell_count", "Viable cell count", "cells"),
        QcTest("viability", "Viability", "%"),
        QcTest("gram_stain", "Gram stain", "", ("no organisms seen", "organisms seen")),
        QcTest("sterility", "Sterility culture", "", ("no growth", "growth", "pending")),
        QcTest("endotoxin", "Endotoxin", "EU/mL"),
        QcTest("mycoplasma", "Mycoplasma", "", ("negative", "positive")),
        QcTest("platelet_count", "Platelet count", "×10³/µL"),
        *(
            QcTest(key, f"Flow cytometry {FLOW_NAMES.get(key, key.upper())}", "% of cells")
            for key in (*FLOW_POSITIVE, *FLOW_NEGATIVE)
        ),
    )
}

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
OPERATOR_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def number_text(value: float) -> str:
    """1000000 → "1.0×10⁶" (cell counts as the lab writes them); small numbers as they are."""
    if abs(value) >= 100_000:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}×10{str(int(exponent)).translate(SUPERSCRIPT)}"
    return f"{value:g}"


@dataclass(frozen=True)
class Spec:
    """What a result of one test on one product type must be, in one version."""

    product_type: str
    test: str
    version: int = 1
    operator: str | None = None  # numeric tests: ">=", ">", "<=", "<"
    limit: float | None = None
    accept: tuple[str, ...] = ()  # qualitative tests: the words that pass
    required: bool = True  # must pass before release
    pending_at_release: bool = False  # a "pending" result may be released, flagged

    @property
    def qc_test(self) -> QcTest:
        return TESTS[self.test]

    @property
    def text(self) -> str:
        """The specification as a person reads it: "≥ 70 %", "no growth"."""
        if self.operator is not None and self.limit is not None:
            unit = self.qc_test.unit
            return f"{OPERATOR_TEXT[self.operator]} {number_text(self.limit)} {unit}".strip()
        return " or ".join(self.accept)

    def snapshot(self) -> dict[str, object]:
        """What a result stores of the spec it was judged against."""
        return {
            "version": self.version,
            "operator": self.operator,
            "limit": self.limit,
            "accept": list(self.accept),
            "required": self.required,
            "pending_at_release": self.pending_at_release,
            "text": self.text,
        }


class QcError(ValueError):
    """A result that cannot be judged: unknown test, a word for a number, an unknown word."""

    def __init__(self, message: str, field: str = "value") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check_spec(spec: Spec) -> None:
    """A specification must be judgeable: numeric tests a limit, word tests words it knows."""
    test = TESTS.get(spec.test)
    if test is None:
        raise QcError(f"unknown test {spec.test!r}; known: {', '.join(TESTS)}", "test")
    if test.is_numeric:
        if spec.operator not in OPERATORS or spec.limit is None:
            raise QcError(
                f"{test.name} needs an operator ({', '.join(OPERATORS)}) and a limit", "limit"
            )
        if spec.accept:
            raise QcError(f"{test.name} is a number; it takes a limit, not words", "accept")
        limit = spec.limit
        if limit != limit or limit in (float("inf"), float("-inf")) or limit < 0:
            raise QcError(f"{test.name}: the limit is a finite number ≥ 0", "limit")
        if test.unit.startswith("%") and limit > 100:
            raise QcError(f"{test.name} is a percentage: the limit is 0–100", "limit")
    else:
        unknown = [w for w in spec.accept if w not in test.words]
        if not spec.accept or unknown or "pending" in spec.accept:
            raise QcError(
                f"{test.name} passes on one or more of: "
                f"{', '.join(w for w in test.words if w != 'pending')}",
                "accept",
            )
        if spec.operator is not None or spec.limit is not None:
            raise QcError(f"{test.name} is judged by words, not a limit", "limit")
    if spec.pending_at_release and "pending" not in test.words:
        raise QcError(f"{test.name} has no pending result", "pending_at_release")


def parse_value(test: QcTest, value: object) -> float | str:
    """The result as the test takes it: a JSON number, or one of the test's words."""
    if test.is_numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QcError(f"{test.name} is a number in {test.unit}")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")) or number < 0:
            raise QcError(f"{test.name} must be a finite number ≥ 0")
        if test.unit.startswith("%") and number > 100:
            raise QcError(f"{test.name} is a percentage (0–100)")
        return number
    if not isinstance(value, str) or " ".join(value.lower().split()) not in test.words:
        raise QcError(f"{test.name} is one of: {', '.join(test.words)}")
    return " ".join(value.lower().split())


def judge(spec: Spec, value: float | str) -> Verdict:
    """Pass, fail or pending for one parsed value against one spec version."""
    if isinstance(value, str):
        if value == "pending":
            return Verdict.PENDING
        return Verdict.PASS if value in spec.accept else Verdict.FAIL
    assert spec.operator is not None and spec.limit is not None
    return Verdict.PASS if OPERATORS[spec.operator](value, spec.limit) else Verdict.FAIL


def value_text(test: QcTest, value: float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{number_text(value)} {test.unit}".strip()


# ---------------------------------------------------------------------------- defaults

FRESH_CELLS = ("SVF", "BM-MNC")
MSC = ("MSC(AT)", "MSC(M)")


def _defaults() -> Iterable[Spec]:
    for product in FRESH_CELLS:
        yield Spec(product, "viable_cell_count", operator=">=", limit=1.0e6)
        yield Spec(product, "viability", operator=">=", limit=70)
        yield Spec(product, "gram_stain", accept=("no organisms seen",))
        yield Spec(product, "sterility", accept=("no growth",), pending_at_release=True)
        yield Spec(product, "endotoxin", operator="<", limit=0.5)
    yield Spec("PRP", "platelet_count", operator=">=", limit=1000)
    yield Spec("PRP", "gram_stain", accept=("no organisms seen",))
    yield Spec("PRP", "sterility", accept=("no growth",), pending_at_release=True)
    for product in MSC:
        yield Spec(product, "viability", operator=">=", limit=70)
        yield Spec(product, "gram_stain", accept=("no organisms seen",))
        yield Spec(product, "sterility", accept=("no growth",))  # frozen: no pending release
        yield Spec(product, "endotoxin", operator="<", limit=0.5)
        yield Spec(product, "mycoplasma", accept=("negative",))
        for marker in FLOW_POSITIVE:
            yield Spec(product, marker, operator=">=", limit=95)
        for marker in FLOW_NEGATIVE:
            yield Spec(product, marker, operator="<=", limit=2)


DEFAULT_SPECS: dict[tuple[str, str], Spec] = {(s.product_type, s.test): s for s in _defaults()}


def default_spec(product_type: str, test: str) -> Spec | None:
    return DEFAULT_SPECS.get((product_type, test))


def next_version(current: Spec, **changes: object) -> Spec:
    return replace(current, version=current.version + 1, **changes)


# ---------------------------------------------------------------------------- release


@dataclass(frozen=True)
class Judged:
    """A current result as release reads it: its test, the verdict it got, and its spec."""

    test: str
    verdict: Verdict
    pending_at_release: bool


@dataclass(frozen=True)
class Readiness:
    """Can this product be released on its QC, and with which flag?"""

    missing: tuple[str, ...]
    failing: tuple[str, ...]
    pending: tuple[str, ...]  # pending where the spec does not allow it
    released_pending: tuple[str, ...]  # pending, allowed: the release is flagged

    @property
    def complete(self) -> bool:
        return not (self.missing or self.failing or self.pending)

    def problems(self) -> list[str]:
        names = {k: TESTS[k].name.lower() for k in TESTS}
        out = []
        if self.missing:
            out.append("no result for " + ", ".join(names[t] for t in self.missing))
        if self.failing:
            out.append("out of specification: " + ", ".join(names[t] for t in self.failing))
        if self.pending:
            out.append("still pending: " + ", ".join(names[t] for t in self.pending))
        return out


def readiness(required: Iterable[Spec], current: Mapping[str, Judged]) -> Readiness:
    """Judge a product's current results against the tests its specs in force require.

    A result keeps the verdict of the spec version it was recorded under; whether a pending
    result may be released is read from that spec too.
    """
    missing, failing, pending, allowed = [], [], [], []
    for spec in required:
        if not spec.required:
            continue
        result = current.get(spec.test)
        if result is None:
            missing.append(spec.test)
        elif result.verdict is Verdict.FAIL:
            failing.append(spec.test)
        elif result.verdict is Verdict.PENDING:
            (allowed if result.pending_at_release else pending).append(spec.test)
    return Readiness(tuple(missing), tuple(failing), tuple(pending), tuple(allowed))
