"""QC specifications and verdicts, pure domain: the defaults, the edges of each
limit, words for qualitative tests, and what release reads of a product's results."""

from __future__ import annotations

import pytest

from lims.domain.qc import (
    DEFAULT_SPECS,
    TESTS,
    Judged,
    QcError,
    Spec,
    Verdict,
    check_spec,
    default_spec,
    judge,
    next_version,
    parse_value,
    readiness,
)

P, F, PENDING = Verdict.PASS, Verdict.FAIL, Verdict.PENDING


def verdict(product: str, test: str, value: object) -> Verdict:
    spec = default_spec(product, test)
    assert spec is not None, (product, test)
    return judge(spec, parse_value(spec.qc_test, value))


@pytest.mark.parametrize(
    ("product", "test", "value", "expected"),
    [
        ("SVF", "viability", 70, P),  # exactly the limit passes (≥)
        ("SVF", "viability", 70.0, P),
        ("SVF", "viability", 69.99, F),  # just under fails
        ("BM-MNC", "viability", 100, P),
        ("SVF", "viable_cell_count", 1_000_000, P),
        ("SVF", "viable_cell_count", 999_999, F),
        ("BM-MNC", "viable_cell_count", 1.0e6, P),
        ("SVF", "endotoxin", 0.49, P),
        ("SVF", "endotoxin", 0.5, F),  # "< 0.5 EU/mL": the limit itself fails
        ("MSC(AT)", "cd73", 95, P),
        ("MSC(AT)", "cd90", 94.9, F),
        ("MSC(M)", "cd105", 99, P),
        ("MSC(M)", "cd45", 2, P),  # "≤ 2 %"
        ("MSC(M)", "hla_dr", 2.01, F),
        ("MSC(AT)", "cd34", 0, P),
        ("PRP", "platelet_count", 1000, P),
        ("PRP", "platelet_count", 999, F),
        ("SVF", "gram_stain", "no organisms seen", P),
        ("SVF", "gram_stain", "organisms seen", F),
        ("PRP", "sterility", "no growth", P),
        ("PRP", "sterility", "growth", F),
        ("SVF", "sterility", "pending", PENDING),
        ("MSC(AT)", "mycoplasma", "negative", P),
        ("MSC(AT)", "mycoplasma", "positive", F),
        ("SVF", "gram_stain", "  No Organisms  SEEN ", P),  # case and spacing aside
    ],
)
def test_each_default_specification_at_its_edges(product, test, value, expected):
    assert verdict(product, test, value) is expected


@pytest.mark.parametrize(
    ("test", "value", "message"),
    [
        ("viability", "70", "is a number"),  # a numeric test takes a number, not text
        ("viability", True, "is a number"),
        ("viability", 101, "percentage"),
        ("viability", -1, "≥ 0"),
        ("viability", float("nan"), "finite"),
        ("endotoxin", float("inf"), "finite"),
        ("sterility", "negative", "one of"),
        ("sterility", 0, "one of"),
        ("gram_stain", "", "one of"),
    ],
)
def test_a_value_that_does_not_fit_the_test_is_refused(test, value, message):
    with pytest.raises(QcError, match=message):
        parse_value(TESTS[test], value)


def test_the_defaults_cover_the_issue():
    for product in ("SVF", "BM-MNC"):
        assert {t for (p, t) in DEFAULT_SPECS if p == product} == {
            "viable_cell_count",
            "viability",
            "gram_stain",
            "sterility",
            "endotoxin",
        }
    assert {t for (p, t) in DEFAULT_SPECS if p == "PRP"} == {
        "platelet_count",
        "gram_stain",
        "sterility",
    }
    msc = {t for (p, t) in DEFAULT_SPECS if p == "MSC(AT)"}
    assert {"mycoplasma", "cd73", "cd90", "cd105", "cd45", "cd34", "cd14", "cd19", "hla_dr"} <= msc
    assert {t for (p, t) in DEFAULT_SPECS if p == "MSC(M)"} == msc


def test_sterility_may_be_pending_at_release_only_for_fresh_products():
    assert default_spec("SVF", "sterility").pending_at_release
    assert default_spec("BM-MNC", "sterility").pending_at_release
    assert default_spec("PRP", "sterility").pending_at_release
    assert not default_spec("MSC(AT)", "sterility").pending_at_release
    assert not default_spec("SVF", "viability").pending_at_release


def test_a_spec_reads_as_a_person_writes_it():
    assert default_spec("SVF", "viability").text == "≥ 70 %"
    assert default_spec("SVF", "endotoxin").text == "< 0.5 EU/mL"
    assert default_spec("MSC(M)", "cd45").text == "≤ 2 % of cells"
    assert default_spec("PRP", "sterility").text == "no growth"


@pytest.mark.req("F-7")
def test_a_new_version_judges_differently_and_the_old_one_is_unchanged():
    v1 = default_spec("SVF", "viability")
    v2 = next_version(v1, limit=80.0)
    assert (v1.version, v2.version) == (1, 2)
    assert judge(v1, 75.0) is P and judge(v2, 75.0) is F
    assert v1.limit == 70


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (Spec("SVF", "viability", operator="=>", limit=70), "limit"),
        (Spec("SVF", "viability", operator=">=", limit=None), "limit"),
        (Spec("SVF", "viability", operator=">=", limit=70, accept=("yes",)), "accept"),
        (Spec("SVF", "sterility", accept=("clean",)), "accept"),
        (Spec("SVF", "sterility", accept=("pending",)), "accept"),
        (Spec("SVF", "sterility", accept=()), "accept"),
        (
            Spec("SVF", "gram_stain", accept=("no organisms seen",), pending_at_release=True),
            "pending_at_release",
        ),
        (Spec("SVF", "nonsense"), "test"),
    ],
)
def test_a_spec_that_cannot_judge_is_refused(spec, field):
    with pytest.raises(QcError) as refused:
        check_spec(spec)
    assert refused.value.field == field


def test_every_default_spec_is_valid():
    for spec in DEFAULT_SPECS.values():
        check_spec(spec)


def _judged(test: str, verdict: Verdict, pending_ok: bool = False) -> Judged:
    return Judged(test, verdict, pending_ok)


@pytest.mark.req("F-3")
def test_readiness_names_what_is_missing_failing_and_pending():
    specs = [default_spec("SVF", t) for t in ("viability", "gram_stain", "sterility", "endotoxin")]
    current = {
        "viability": _judged("viability", F),
        "sterility": _judged("sterility", PENDING, pending_ok=True),
        "endotoxin": _judged("endotoxin", P),
    }
    ready = readiness(specs, current)
    assert ready.missing == ("gram_stain",)
    assert ready.failing == ("viability",)
    assert ready.released_pending == ("sterility",)
    assert not ready.complete
    assert ready.problems() == ["no result for gram stain", "out of specification: viability"]


def test_pending_sterility_does_not_block_a_fresh_release_but_blocks_a_frozen_one():
    fresh = readiness(
        [default_spec("PRP", "sterility")], {"sterility": _judged("sterility", PENDING, True)}
    )
    frozen = readiness(
        [default_spec("MSC(AT)", "sterility")], {"sterility": _judged("sterility", PENDING)}
    )
    assert fresh.complete and fresh.released_pending == ("sterility",)
    assert not frozen.complete and frozen.pending == ("sterility",)


def test_a_test_no_longer_required_does_not_block_release():
    spec = next_version(default_spec("SVF", "endotoxin"), required=False)
    assert readiness([spec], {}).complete


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (Spec("SVF", "viability", operator=">=", limit=150), "limit"),
        (Spec("SVF", "endotoxin", operator="<", limit=-1), "limit"),
        (Spec("SVF", "endotoxin", operator="<", limit=float("inf")), "limit"),
    ],
)
def test_a_limit_outside_what_the_test_can_measure_is_refused(spec, field):
    with pytest.raises(QcError) as refused:
        check_spec(spec)
    assert refused.value.field == field


def test_cell_counts_read_as_the_lab_writes_them():
    assert default_spec("SVF", "viable_cell_count").text == "≥ 1.0×10⁶ cells"
