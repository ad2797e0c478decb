"""The release rules: two-person rule, e-signature password, out-of-spec refusal,
pending sterility flagged, exceptional release with two signatures, a late positive
sterility recorded and flagged, and the signature bound to the hash of what was signed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lims.domain.errors import Conflict, Invalid
from lims.domain.signatures import record_hash
from lims.extensions import db
from lims.models import Deviation, Signature
from lims.services.actions import units
from lims.services.admin import accounts
from lims.services.custody.signatures import signatures_of

from .lab import CABINET, entries_of, pass_all_qc, qc_data, required_tests, sign, stored

RELEASE = "release"


def perform(unit, action, data, user):
    return units.perform_action(unit.id, action, data, user)


@pytest.fixture
def product(unit_in):
    """A fresh SVF in quarantine (no QC yet)."""
    return unit_in("quarantine")


def record_all(product, technician, **values):
    for test in required_tests(product.unit_type):
        perform(product, "record_qc", qc_data(test, values.get(test)), technician)


@pytest.mark.req("P11-8", "T-5")
def test_a_complete_in_spec_product_is_released_with_a_signature(product, users):
    record_all(product, users["technician"])
    result = perform(product, RELEASE, sign(), users["qa"])
    assert result.unit.status == "released" and result.unit.released_at is not None
    (signature,) = signatures_of([product.id])
    assert (signature.printed_name, signature.role, signature.meaning) == (
        "Test Qa",
        "qa",
        "approved for release",
    )
    assert signature.ledger_entry_id == result.entries[0].id


@pytest.mark.req("P11-9")
def test_the_signature_is_bound_to_the_hash_of_what_was_signed(product, users):
    record_all(product, users["technician"])
    perform(product, RELEASE, sign(), users["qa"])
    entry, certificate = entries_of(product.id)[-2:]  # the release issues its certificate
    assert (entry.action, certificate.action) == ("release", "certificate_issued")
    data = json.loads(entry.data)
    (signature,) = signatures_of([product.id])
    signed = data["signed_record"]
    assert record_hash({**signed, "signer_id": users["qa"].id}) == signature.record_hash
    assert data["signatures"][0]["record_hash"] == signature.record_hash
    assert {q["test"] for q in signed["qc"]} == set(required_tests("SVF"))
    # a record altered afterwards no longer matches the signature
    altered = {**signed, "qc": [{**signed["qc"][0], "value": 1.0}, *signed["qc"][1:]]}
    assert record_hash({**altered, "signer_id": users["qa"].id}) != signature.record_hash


@pytest.mark.req("P11-10")
def test_the_password_is_never_recorded(product, users):
    record_all(product, users["technician"])
    perform(product, RELEASE, sign(), users["qa"])
    assert all("test-pass-1234" not in e.data for e in entries_of(product.id))


@pytest.mark.req("P11-10")
def test_a_wrong_password_is_refused_and_changes_nothing(product, users):
    record_all(product, users["technician"])
    before = stored(product.id)
    with pytest.raises(Invalid) as refused:
        perform(product, RELEASE, sign(password="not-my-password"), users["qa"])
    assert refused.value.code == "wrong_password"
    assert refused.value.fields == {"password": "wrong password"}
    assert stored(product.id) == before
    assert signatures_of([product.id]) == []


@pytest.mark.parametrize("meaning", ["reviewed", "rejected", "approved exceptional release"])
def test_a_release_signature_must_mean_approval(product, users, meaning):
    record_all(product, users["technician"])
    with pytest.raises(Invalid) as refused:
        perform(product, RELEASE, sign(meaning), users["qa"])
    assert "meaning" in refused.value.fields


@pytest.mark.req("F-5")
def test_whoever_tested_the_unit_may_not_release_it(product, users):
    """A technician who recorded QC, later made QA, is still barred (the ledger remembers)."""
    tester = users["technician2"]
    record_all(product, tester)
    accounts.change_role(tester, "qa")
    before = stored(product.id)
    with pytest.raises(Conflict) as refused:
        perform(product, RELEASE, sign(), tester)
    assert refused.value.code == "two_person_rule"
    assert "record qc" in refused.value.message
    assert stored(product.id) == before
    perform(product, RELEASE, sign(), users["qa"])  # a second person may


@pytest.mark.req("F-5")
def test_whoever_processed_the_source_may_not_release_the_product(product, users):
    processor = users["technician"]  # walked the collection through processing
    record_all(product, users["technician2"])
    accounts.change_role(processor, "qa")
    with pytest.raises(Conflict, match="start processing"):
        perform(product, RELEASE, sign(), processor)


@pytest.mark.req("F-3")
@pytest.mark.parametrize(
    ("test", "value", "problem"),
    [
        ("viability", 69.9, "out of specification: viability"),
        ("endotoxin", 0.5, "out of specification: endotoxin"),
        ("gram_stain", "organisms seen", "out of specification: gram stain"),
    ],
)
def test_an_out_of_spec_product_is_refused(product, users, test, value, problem):
    record_all(product, users["technician"], **{test: value})
    before = stored(product.id)
    with pytest.raises(Conflict) as refused:
        perform(product, RELEASE, sign(), users["qa"])
    assert refused.value.code == "not_releasable"
    assert problem in refused.value.message
    assert stored(product.id) == before


def test_a_missing_result_is_refused(product, users):
    for test in required_tests("SVF"):
        if test != "endotoxin":
            perform(product, "record_qc", qc_data(test), users["technician"])
    with pytest.raises(Conflict, match="no result for endotoxin"):
        perform(product, RELEASE, sign(), users["qa"])


def test_an_out_of_spec_result_opens_a_deviation(product, users, app):
    from lims.extensions import db

    result = perform(product, "record_qc", qc_data("viability", 62.0), users["technician"])
    data = json.loads(result.entries[0].data)
    assert data["verdict"] == "fail" and data["spec"] == "≥ 70 %" and data["spec_version"] == 1
    deviation = db.session.get(Deviation, data["deviation_id"])
    assert "Viability 62 %" in deviation.description and "≥ 70 %" in deviation.description
    assert product.deviation is True


def test_pending_sterility_is_released_flagged_for_a_fresh_product(product, users):
    record_all(product, users["technician"], sterility="pending")
    result = perform(product, RELEASE, sign(), users["qa"])
    assert json.loads(result.entries[0].data)["flags"] == ["sterility pending at release"]


def test_pending_sterility_blocks_a_cryopreserved_product(users, unit_in):
    svf = unit_in("quarantine")
    perform(svf, "start_processing", {"protocol": "MSC", "equipment": CABINET}, users["technician"])
    from .lab import data_for

    (msc,) = perform(
        svf, "complete_processing", data_for("complete_processing", "SVF"), users["technician"]
    ).products
    record_all(msc, users["technician"], sterility="pending")
    with pytest.raises(Conflict, match="still pending: sterility culture"):
        perform(msc, RELEASE, sign(), users["qa"])


def test_a_late_positive_sterility_is_recorded_and_flagged(product, users):
    record_all(product, users["technician"], sterility="pending")
    perform(product, RELEASE, sign(), users["qa"])
    (aliquot,) = perform(
        product, "split", {"aliquots": [{"volume_ml": 2}]}, users["technician"]
    ).products
    perform(product, "dispense", {"clinician": "doctor"}, users["technician"])

    result = perform(product, "record_qc", qc_data("sterility", "growth"), users["technician"])

    assert result.unit.status == "dispensed"  # recorded on the dispensed unit
    assert "recorded after release" in product.qc_alert
    assert aliquot.qc_alert == product.qc_alert  # the aliquot is the same material
    data = json.loads(result.entries[0].data)
    assert data["verdict"] == "fail" and "qc_alert" in data
    administer = {
        "wristband": product.patient.wristband,
        "site": "vertex",
        "method": "micro-injection",
        "volume_ml": 1,
    }
    with pytest.raises(Conflict, match="QC alert"):
        perform(product, "administer", administer, users["clinician"])
    with pytest.raises(Conflict, match="QC alert"):
        perform(aliquot, "dispense", {"clinician": "doctor"}, users["technician"])


def test_only_sterility_may_be_recorded_after_release(product, users):
    record_all(product, users["technician"])
    perform(product, RELEASE, sign(), users["qa"])
    with pytest.raises(Invalid) as refused:
        perform(product, "record_qc", qc_data("viability", 90.0), users["technician"])
    assert "test" in refused.value.fields


EXCEPTIONAL = {
    "password": "test-pass-1234",
    "meaning": "approved exceptional release",
    "justification": "patient travelled from abroad; physician accepts viability 65 %",
    "physician": "doctor",
    "physician_password": "test-pass-1234",
}


@pytest.mark.req("F-3")
def test_exceptional_release_needs_qa_and_a_physician(product, users):
    record_all(product, users["technician"], viability=65.0)
    result = perform(product, "exceptional_release", EXCEPTIONAL, users["qa"])
    assert result.unit.status == "released" and result.unit.exceptional_release
    signatures = signatures_of([product.id])
    assert [(s.printed_name, s.role) for s in signatures] == [
        ("Test Qa", "qa"),
        ("Test Clinician", "clinician"),
    ]
    assert {s.meaning for s in signatures} == {"approved exceptional release"}
    data = json.loads(result.entries[0].data)
    assert "out of specification: viability" in data["flags"]
    assert data["justification"].startswith("patient travelled")


@pytest.mark.req("P11-10", "F-3")
@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"physician_password": "wrong-password"}, "physician_password", "wrong_password"),
        ({"password": "wrong-password"}, "password", "wrong_password"),
        ({"physician": "qa"}, "physician", "invalid_fields"),  # not a clinician
        ({"physician": "nobody"}, "physician", "invalid_fields"),
        ({"justification": "ok"}, "justification", "invalid_fields"),
        ({"meaning": "approved for release"}, "meaning", None),
    ],
)
def test_exceptional_release_refuses_without_both_valid_signatures(
    product, users, change, field, code
):
    record_all(product, users["technician"], viability=65.0)
    before = stored(product.id)
    with pytest.raises(Invalid) as refused:
        perform(product, "exceptional_release", {**EXCEPTIONAL, **change}, users["qa"])
    assert field in refused.value.fields
    if code:
        assert refused.value.code == code
    assert stored(product.id) == before
    assert signatures_of([product.id]) == []


@pytest.mark.req("F-3")
def test_exceptional_release_is_not_for_a_product_in_spec(product, users):
    record_all(product, users["technician"])
    with pytest.raises(Conflict, match="use the ordinary release"):
        perform(product, "exceptional_release", EXCEPTIONAL, users["qa"])


def test_qa_rejection_is_signed(product, users):
    perform(product, "reject", {"reason": "viability far below", **sign("rejected")}, users["qa"])
    (signature,) = signatures_of([product.id])
    assert signature.meaning == "rejected" and signature.action == "reject"


def test_qa_rejection_without_a_signature_is_refused(product, users):
    with pytest.raises(Invalid) as refused:
        perform(product, "reject", {"reason": "viability far below"}, users["qa"])
    assert "password" in refused.value.fields


def test_a_returned_product_is_re_released_or_discarded(unit_in, users):
    product = unit_in("returned")
    result = perform(product, RELEASE, sign(), users["qa"])
    assert result.unit.status == "released"
    assert len(signatures_of([product.id])) == 2  # the first release and this one


@pytest.mark.req("P11-9")
def test_signatures_cannot_be_changed(product, users, app):
    import sqlalchemy as sa

    from lims.extensions import db

    record_all(product, users["technician"])
    perform(product, RELEASE, sign(), users["qa"])
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.update(Signature).values(printed_name="Mallory"))
        db.session.commit()
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(sa.text("DELETE FROM qc_results"))
        db.session.commit()
    db.session.rollback()


def test_pass_all_helper_covers_every_required_test(product, users):
    pass_all_qc(product, users["technician"])
    perform(product, RELEASE, sign(), users["qa"])
    assert product.status == "released"


def with_open_deviation(product, users) -> int:
    """QC complete and in specification, but the viability first typed out of specification
    opened a deviation that is still open."""
    technician = users["technician"]
    first = perform(product, "record_qc", qc_data("viability", 7.5), technician)
    first_id = json.loads(first.entries[0].data)["qc_result_id"]
    fix = {"corrects": first_id, "reason": "decimal point misplaced"}
    perform(product, "record_qc", qc_data("viability", 75.0, **fix), technician)
    for test in required_tests(product.unit_type):
        if test != "viability":
            perform(product, "record_qc", qc_data(test), technician)
    (deviation,) = db.session.scalars(
        select(Deviation).where(Deviation.unit_id == product.id, Deviation.closed_at.is_(None))
    )
    return deviation.id


@pytest.mark.req("F-9")
def test_an_open_deviation_blocks_release_until_qa_closes_it(product, users):
    from lims.services.audit import deviations

    deviation_id = with_open_deviation(product, users)
    before = stored(product.id)
    with pytest.raises(Conflict) as refused:
        perform(product, RELEASE, sign(), users["qa"])
    assert refused.value.code == "open_deviation"
    assert f"#{deviation_id} (qc out of specification)" in refused.value.message
    assert stored(product.id) == before
    closing = {**sign("reviewed"), "decision": "accepted_no_impact", "note": "typing error"}
    deviations.close(deviation_id, closing, users["qa"])  # the technician opened it
    assert perform(product, RELEASE, sign(), users["qa"]).unit.status == "released"


def test_exceptional_release_signs_over_an_open_deviation(product, users):
    deviation_id = with_open_deviation(product, users)
    result = perform(product, "exceptional_release", EXCEPTIONAL, users["qa"])
    data = json.loads(result.entries[0].data)
    assert f"deviation #{deviation_id} (qc out of specification) open" in data["flags"]
    assert data["signed_record"]["problems"] == data["flags"][1:]
