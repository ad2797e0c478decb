"""A step, the start of processing and a QC result name equipment and lots by register code:
what is refused (and that a refusal changes nothing), QA's permit, the uses recorded, the
stock taken, and the import provenance of a QC result."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid
from lims.extensions import db
from lims.models import Equipment, LedgerEntry, MaterialUse, OutboxEvent, QcResult, ReagentLot
from lims.models.types import utcnow
from lims.services.actions import units
from lims.services.audit import custody_report
from lims.services.materials import uses

from .lab import BENCH_EQUIPMENT, BENCH_LOTS, CABINET, entries_of, qc_data, steps_for


def perform(unit, action, data, user, **kw):
    return units.perform_action(unit.id, action, data, user, **kw)


def item(kind: str) -> Equipment:
    return db.session.scalar(select(Equipment).where(Equipment.code == BENCH_EQUIPMENT[kind]))


def lot(reagent: str) -> ReagentLot:
    return db.session.scalar(select(ReagentLot).where(ReagentLot.code == BENCH_LOTS[reagent]))


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(LedgerEntry)),
        db.session.scalar(select(func.count()).select_from(MaterialUse)),
    )


def step(key: str) -> dict:
    return next(s for s in steps_for("ADIPOSE") if s["step"] == key)


@pytest.fixture
def in_processing(unit_in):
    return unit_in("in_processing")


@pytest.mark.req("F-6")
def test_a_step_records_its_equipment_and_lot_and_takes_the_stock(in_processing, users):
    before = lot("neutralising medium").quantity_remaining
    result = perform(
        in_processing, "record_step", step("neutralise_centrifuge"), users["technician"]
    )
    data = json.loads(result.entries[0].data)
    centrifuge = item("centrifuge")
    assert data["equipment"] == centrifuge.code
    assert data["calibration_valid_until"] == centrifuge.calibration_valid_until.isoformat()
    assert (data["lot"], data["reagent"]) == (
        BENCH_LOTS["neutralising medium"],
        "neutralising medium",
    )
    assert data["quantity_used"] == 2.0
    db.session.expire_all()
    assert lot("neutralising medium").quantity_remaining == before - 2.0
    rows = db.session.scalars(select(MaterialUse).where(MaterialUse.unit_id == in_processing.id))
    by_what = {(r.equipment_id, r.reagent_lot_id): r for r in rows}
    assert set(by_what) == {
        (item("biosafety_cabinet").id, None),  # start of processing
        (centrifuge.id, None),
        (None, lot("neutralising medium").id),
    }
    assert by_what[(centrifuge.id, None)].ledger_entry_id == result.entries[0].id


def test_start_of_processing_needs_a_biosafety_cabinet(unit_in, users):
    received = unit_in("received")
    with pytest.raises(Invalid) as refused:
        perform(
            received,
            "start_processing",
            {"protocol": "standard", "equipment": BENCH_EQUIPMENT["centrifuge"]},
            users["technician"],
        )
    assert "this needs a biosafety cabinet" in refused.value.fields["equipment"]


@pytest.mark.parametrize(
    "code, error, words",
    [
        ("Centrifuge C-01", Invalid, "not an equipment code: scan its label"),
        (CABINET[:-1] + ("A" if CABINET[-1] != "A" else "B"), Invalid, "check character"),
        (BENCH_LOTS["collagenase"], Invalid, "this is a reagent lot code, not an equipment code"),
    ],
)
def test_equipment_that_is_no_register_code_is_refused(unit_in, users, code, error, words):
    received = unit_in("received")
    with pytest.raises(error) as refused:
        perform(
            received, "start_processing", {"protocol": "p", "equipment": code}, users["technician"]
        )
    assert words in refused.value.message


@pytest.mark.req("F-6")
@pytest.mark.parametrize("problem", ["out_of_service", "calibration_lapsed"])
def test_refused_equipment_is_named_with_its_date_and_nothing_changes(
    in_processing, users, problem
):
    centrifuge = item("centrifuge")
    if problem == "out_of_service":
        centrifuge.status, centrifuge.status_reason = "out_of_service", "rotor imbalance"
        words = f"{centrifuge.code} Bench centrifuge is out of service (rotor imbalance)"
    else:
        centrifuge.calibration_valid_until = utcnow().date() - timedelta(days=3)
        words = f"past its calibration: valid until {centrifuge.calibration_valid_until}"
    db.session.commit()
    stock, before = lot("neutralising medium").quantity_remaining, counts()
    with pytest.raises(Conflict) as refused:
        perform(in_processing, "record_step", step("neutralise_centrifuge"), users["technician"])
    assert refused.value.code == "equipment_not_usable"
    assert words in refused.value.message
    db.session.expire_all()
    assert counts() == before
    assert lot("neutralising medium").quantity_remaining == stock


@pytest.mark.req("F-9")
def test_qa_permits_a_lapsed_item_and_the_step_cites_the_deviation(in_processing, users):
    centrifuge = item("centrifuge")
    # lapsed two days ago: the step, done hours ago, may fall on yesterday's date near midnight
    centrifuge.calibration_valid_until = utcnow().date() - timedelta(days=2)
    db.session.commit()
    with pytest.raises(Forbidden):
        uses.open_permit(in_processing.id, centrifuge.code, "risk assessed", users["technician"])
    permit = uses.open_permit(in_processing.id, centrifuge.code, "risk assessed", users["qa"])
    assert permit.is_open and permit.equipment_id == centrifuge.id
    data = {**step("neutralise_centrifuge"), "deviation": permit.id}
    result = perform(in_processing, "record_step", data, users["technician"])
    assert json.loads(result.entries[0].data)["permitted_by_deviation"] == permit.id
    row = db.session.scalar(
        select(MaterialUse).where(
            MaterialUse.ledger_entry_id == result.entries[0].id,
            MaterialUse.equipment_id == centrifuge.id,
        )
    )
    assert row.deviation_id == permit.id
    permits = [e for e in entries_of(in_processing.id) if e.action == "permit_equipment"]
    assert [json.loads(e.data)["deviation_id"] for e in permits] == [permit.id]


def test_a_permit_is_for_its_item_and_unit_and_only_when_needed(in_processing, unit_in, users):
    with pytest.raises(Conflict) as needless:
        uses.open_permit(in_processing.id, BENCH_EQUIPMENT["centrifuge"], "why", users["qa"])
    assert needless.value.code == "permit_not_needed"
    incubator = item("incubator")
    incubator.status, incubator.status_reason = "out_of_service", "door seal"
    centrifuge = item("centrifuge")
    centrifuge.status, centrifuge.status_reason = "out_of_service", "rotor"
    db.session.commit()
    other = unit_in("in_processing")
    for_incubator = uses.open_permit(in_processing.id, incubator.code, "assessed", users["qa"])
    for_other_unit = uses.open_permit(other.id, centrifuge.code, "assessed", users["qa"])
    for wrong in (for_incubator.id, for_other_unit.id, 999_999):
        data = {**step("neutralise_centrifuge"), "deviation": wrong}
        with pytest.raises(Invalid) as refused:
            perform(in_processing, "record_step", data, users["technician"])
        assert refused.value.fields == {
            "deviation": f"deviation {wrong} does not permit {centrifuge.code} on this unit"
        }


@pytest.mark.req("F-6")
@pytest.mark.parametrize(
    "change, words",
    [
        ({"accepted_at": None, "accepted_by_id": None}, "has not been accepted by QA"),
        ({"expires_on": "yesterday"}, "expired on"),
        ({"quantity_remaining": 1.0}, "has 1 mL left; 2 mL cannot be taken from it"),
    ],
)
def test_an_unusable_lot_is_refused_with_its_reason(in_processing, users, change, words):
    neutralising = lot("neutralising medium")
    for name, value in change.items():
        if value == "yesterday":
            value = utcnow().date() - timedelta(days=2)
        setattr(neutralising, name, value)
    db.session.commit()
    before = counts()
    with pytest.raises(Conflict) as refused:
        perform(in_processing, "record_step", step("neutralise_centrifuge"), users["technician"])
    assert refused.value.code == "lot_not_usable" and words in refused.value.message
    assert counts() == before


def test_a_lot_of_another_reagent_is_refused(in_processing, users):
    data = {**step("neutralise_centrifuge"), "lot": BENCH_LOTS["collagenase"]}
    with pytest.raises(Conflict) as refused:
        perform(in_processing, "record_step", data, users["technician"])
    assert "is collagenase, not neutralising medium" in refused.value.message


def test_a_step_on_a_kind_of_equipment_or_with_a_lot_must_say_so(in_processing, users):
    no_equipment = {k: v for k, v in step("neutralise_centrifuge").items() if k != "equipment"}
    with pytest.raises(Invalid) as refused:
        perform(in_processing, "record_step", no_equipment, users["technician"])
    assert refused.value.fields == {
        "equipment": "Neutralise and centrifuge is done on a centrifuge: scan or pick it"
    }
    no_quantity = {k: v for k, v in step("neutralise_centrifuge").items() if k != "quantity"}
    with pytest.raises(Invalid) as refused:
        perform(in_processing, "record_step", no_quantity, users["technician"])
    assert refused.value.fields == {"quantity": "say how much of the lot was used"}
    wrong_kind = {**step("neutralise_centrifuge"), "equipment": BENCH_EQUIPMENT["incubator"]}
    with pytest.raises(Invalid) as refused:
        perform(in_processing, "record_step", wrong_kind, users["technician"])
    assert "is a incubator; this needs a centrifuge" in refused.value.fields["equipment"]


def test_a_lot_used_up_is_flagged_once_and_the_lab_told(in_processing, users):
    neutralising = lot("neutralising medium")
    neutralising.quantity_remaining = 2.0
    db.session.commit()
    perform(in_processing, "record_step", step("neutralise_centrifuge"), users["technician"])
    db.session.expire_all()
    used_up = lot("neutralising medium")
    assert (used_up.quantity_remaining, used_up.flagged) == (0.0, "used_up")
    events = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == "reagent_lot_flagged")
    ).all()
    assert [e.dedupe_key for e in events] == [f"lot_flagged:{used_up.id}:used_up"]
    with pytest.raises(Conflict, match="is used up"):
        perform(in_processing, "record_step", step("neutralise_centrifuge"), users["technician"])


def test_a_qc_result_names_its_instrument_and_cites_an_import(unit_in, users):
    product = unit_in("quarantine")
    counter = item("cell_counter")
    data = {**qc_data("viability"), "equipment": counter.code}
    provenance = {"sha256": "a" * 64, "row": 7, "import_id": 1, "format": "nucleocounter"}
    result = perform(product, "record_qc", data, users["technician"], provenance=provenance)
    recorded = json.loads(result.entries[0].data)
    assert recorded["equipment"] == counter.code and recorded["provenance"] == provenance
    stored = db.session.scalar(select(QcResult).where(QcResult.unit_id == product.id))
    assert (stored.equipment_id, stored.source) == (counter.id, f"{'a' * 64}:7")
    with pytest.raises(Conflict) as again:
        perform(product, "record_qc", data, users["technician"], provenance=provenance)
    assert again.value.code == "already_imported"


@pytest.mark.req("P11-12")
def test_a_request_cannot_claim_a_provenance(unit_in, users):
    product = unit_in("quarantine")
    data = {**qc_data("viability"), "provenance": {"sha256": "b" * 64, "row": 1}}
    with pytest.raises(Invalid) as refused:
        perform(product, "record_qc", data, users["technician"])
    assert "set by an instrument import only" in str(refused.value.fields)


def test_a_qc_instrument_out_of_calibration_is_refused(unit_in, users):
    product = unit_in("quarantine")
    counter = item("cell_counter")
    counter.calibration_valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        perform(
            product,
            "record_qc",
            {**qc_data("viability"), "equipment": counter.code},
            users["technician"],
        )
    assert counter.code in refused.value.message


def test_the_custody_report_lists_what_touched_the_lineage(unit_in, users):
    product = unit_in("quarantine")
    report = custody_report.build(product.id, users["qa"])
    lines = custody_report.material_lines(report)
    codes_used = {line[3].split()[0] for line in lines}
    assert BENCH_EQUIPMENT["centrifuge"] in codes_used and BENCH_LOTS["collagenase"] in codes_used
    cabinet = next(line for line in lines if line[3].startswith(CABINET))
    assert cabinet[4].startswith("calibrated until ")
