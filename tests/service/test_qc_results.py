"""QC results: verdicts computed (never typed), spec versioning that never rewrites
an old judgement, corrections that keep the old value, and bad results that change nothing."""

from __future__ import annotations

import json

import pytest

from lims.domain.errors import Forbidden, Invalid, NotFound
from lims.domain.lifecycle import Status
from lims.services.actions import qc, units

from .lab import qc_data, stored


def record(product, users, test, value=None, **extra):
    return units.perform_action(
        product.id, "record_qc", qc_data(test, value, **extra), users["technician"]
    )


@pytest.fixture
def product(unit_in):
    return unit_in("quarantine")


@pytest.mark.parametrize(
    ("value", "verdict"), [(70, "pass"), (70.0, "pass"), (69.99, "fail"), (100, "pass")]
)
def test_viability_edges(product, users, value, verdict):
    record(product, users, "viability", value)
    (result,) = qc.results_of(product)
    assert result.verdict == verdict and result.spec_version == 1


def test_a_sent_verdict_is_refused(product, users):
    with pytest.raises(Invalid) as refused:
        record(product, users, "viability", 50, verdict="pass")
    assert refused.value.fields == {"verdict": "unknown field"}


@pytest.mark.parametrize(
    ("test", "value", "field"),
    [
        ("viability", "70", "value"),  # numbers are numbers
        ("viability", True, "value"),
        ("viability", 120, "value"),
        ("sterility", "clean", "value"),
        ("mycoplasma", "negative", "test"),  # not a test of SVF
        ("platelet_count", 900, "test"),  # a PRP test
    ],
)
def test_a_result_that_does_not_fit_is_refused_and_changes_nothing(
    product, users, test, value, field
):
    before = stored(product.id)
    with pytest.raises(Invalid) as refused:
        record(product, users, test, value)
    assert field in refused.value.fields, refused.value.fields
    assert stored(product.id) == before
    assert qc.results_of(product) == []


def test_an_unknown_test_is_refused(product, users):
    with pytest.raises(Invalid) as refused:
        units.perform_action(
            product.id,
            "record_qc",
            {"test": "colour", "value": 1, "method": "m", "lot": "l"},
            users["technician"],
        )
    assert "test" in refused.value.fields


@pytest.mark.req("F-7")
def test_a_spec_change_never_rewrites_an_old_judgement(product, users, unit_in):
    record(product, users, "viability", 75.0)
    spec = qc.publish_spec(
        "SVF",
        "viability",
        {"operator": ">=", "limit": 80},
        "raised after validation study",
        users["admin"],
    )
    assert (spec.version, spec.text) == (2, "≥ 80 %")
    other = unit_in("quarantine", patient={"mrn": "MRN-2", "name": "Other Patient"})
    record(other, users, "viability", 75.0)

    (old,) = qc.results_of(product)
    (new,) = qc.results_of(other)
    assert (old.verdict, old.spec_version, old.spec_snapshot["text"]) == ("pass", 1, "≥ 70 %")
    assert (new.verdict, new.spec_version, new.spec_snapshot["text"]) == ("fail", 2, "≥ 80 %")
    assert [v.version for v, _ in qc.spec_history("SVF", "viability")] == [1, 2]
    assert qc.spec_in_force("BM-MNC", "viability").version == 1  # other products untouched


@pytest.mark.req("P11-7")
def test_only_an_admin_publishes_specs(users):
    with pytest.raises(Forbidden):
        qc.publish_spec("SVF", "viability", {"operator": ">=", "limit": 80}, "why", users["qa"])


@pytest.mark.parametrize(
    ("product_type", "test", "data", "reason", "error"),
    [
        ("SVF", "viability", {"operator": ">=", "limit": "eighty"}, "why", Invalid),
        ("SVF", "viability", {"operator": "=>", "limit": 80}, "why", Invalid),
        ("SVF", "viability", {"operator": ">=", "limit": 80}, "", Invalid),
        ("SVF", "sterility", {"accept": ["clean"]}, "why", Invalid),
        ("ADIPOSE", "viability", {"operator": ">=", "limit": 80}, "why", NotFound),
        ("SVF", "colour", {"operator": ">=", "limit": 80}, "why", NotFound),
    ],
)
def test_a_bad_spec_is_refused_and_publishes_nothing(
    users, product_type, test, data, reason, error
):
    with pytest.raises(error):
        qc.publish_spec(product_type, test, data, reason, users["admin"])
    assert qc.spec_in_force("SVF", "viability").version == 1


def test_prp_platelet_count_is_set_by_the_admin(users, unit_in):
    qc.publish_spec(
        "PRP", "platelet_count", {"operator": ">=", "limit": 1500}, "new kit", users["admin"]
    )
    prp = unit_in("quarantine", "BLOOD")
    record(prp, users, "platelet_count", 1200)
    assert qc.results_of(prp)[0].verdict == "fail"


@pytest.mark.req("P11-2")
def test_a_correction_is_a_new_result_and_the_old_value_stays(product, users):
    first = record(product, users, "viability", 7.5)  # typed 7.5 for 75
    first_id = json.loads(first.entries[0].data)["qc_result_id"]
    corrected = record(
        product, users, "viability", 75.0, corrects=first_id, reason="decimal point misplaced"
    )
    entry = corrected.entries[0]
    assert entry.reason == "decimal point misplaced"
    results = qc.results_of(product)
    assert [(r.value, r.verdict) for r in results] == [(7.5, "fail"), (75.0, "pass")]
    assert results[1].corrects_id == first_id
    assert qc.superseded_ids(results) == {first_id}
    assert qc.current_results(results)["viability"].value == 75.0


@pytest.mark.req("A11-2")
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"corrects": 1}, "reason"),  # a correction needs a reason
        ({"reason": "oops"}, "reason"),  # a reason without a correction
        ({"corrects": 99999, "reason": "typo"}, "corrects"),
    ],
)
def test_a_bad_correction_is_refused(product, users, extra, field):
    record(product, users, "viability", 80.0)
    with pytest.raises(Invalid) as refused:
        record(product, users, "viability", 81.0, **extra)
    assert field in refused.value.fields
    assert len(qc.results_of(product)) == 1


def test_a_correction_keeps_the_test(product, users):
    first = record(product, users, "viability", 80.0)
    first_id = json.loads(first.entries[0].data)["qc_result_id"]
    with pytest.raises(Invalid) as refused:
        record(product, users, "endotoxin", 0.1, corrects=first_id, reason="wrong test")
    assert "test" in refused.value.fields


def test_an_aliquot_shares_the_qc_of_the_unit_it_was_split_from(product, users):
    record(product, users, "viability", 80.0)
    (aliquot,) = units.perform_action(
        product.id, "split", {"aliquots": [{"volume_ml": 3}]}, users["technician"]
    ).products
    assert [r.test for r in qc.results_of(aliquot)] == ["viability"]
    assert aliquot.status == Status.QUARANTINE and aliquot.division == "A0"
    assert product.volume_ml == 7  # 10 ml made, 3 ml split off


def test_a_new_version_keeps_what_it_does_not_change(users):
    spec = qc.publish_spec("SVF", "sterility", {"required": True}, "re-approved", users["admin"])
    assert (spec.version, spec.accept, spec.pending_at_release) == (2, ("no growth",), True)


def test_a_receipt_deviation_is_seen_with_the_product(users, unit_in):
    from .lab import data_for, registration

    source = units.register(registration("ADIPOSE"), users["clinician"]).unit
    receipt = {**data_for("receive"), "temperature_c": 12.0, "deviation_note": "cool pack thin"}
    units.perform_action(source.id, "receive", receipt, users["technician"])
    units.perform_action(
        source.id, "start_processing", data_for("start_processing"), users["technician"]
    )
    (product,) = units.perform_action(
        source.id, "complete_processing", data_for("complete_processing"), users["technician"]
    ).products
    (deviation,) = qc.deviations_of(product)
    assert deviation.kind == "receipt_outside_acceptance"
    assert "12 °C" in deviation.description
    assert qc.deviation_count(product) == qc.deviation_count(product, open_only=True) == 1
