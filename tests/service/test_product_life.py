"""The full life of each fresh product, collection to administration, and of a
cryopreserved MSC aliquot thawed months later for a maintenance treatment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lims.domain.lifecycle import Status
from lims.services.actions import units
from lims.services.admin import locations
from lims.services.custody.signatures import signatures_of

from .lab import CABINET, PRODUCT_OF, data_for, entries_of, qc_data, required_tests, sign, steps_for


@pytest.fixture
def perform(users):
    def _perform(unit, action: str, data: dict, as_: str = "technician"):
        return units.perform_action(unit.id, action, data, users[as_])

    return _perform


def make_product(kind: str, users, perform, *, pending_sterility: bool = False):
    source = units.register({**_registration(kind)}, users["clinician"]).unit
    perform(source, "receive", data_for("receive", kind))
    perform(source, "start_processing", data_for("start_processing", kind))
    for step in steps_for(kind):
        perform(source, "record_step", step)
    done = perform(
        source,
        "complete_processing",
        {"products": [{"type": PRODUCT_OF[kind], "volume_ml": 8, "cell_count": 30_000_000}]},
    )
    (product,) = done.products
    for test in required_tests(product.unit_type):
        value = "pending" if (test == "sterility" and pending_sterility) else None
        perform(product, "record_qc", qc_data(test, value))
    return source, product


def _registration(kind):
    from .lab import registration

    return registration(kind)


@pytest.mark.req("T-3", "T-5")
@pytest.mark.parametrize("kind", ["ADIPOSE", "MARROW", "BLOOD"])
def test_a_fresh_product_goes_from_collection_to_the_patient(kind, users, perform):
    source, product = make_product(kind, users, perform, pending_sterility=True)
    assert source.status == Status.PROCESSED
    assert product.status == Status.QUARANTINE
    assert product.expires_at == product.processed_at + product.kind.shelf_life

    released = perform(product, "release", sign(), as_="qa")
    assert released.unit.status == Status.RELEASED
    assert released.entries[0].data and "sterility pending at release" in released.entries[0].data

    perform(product, "dispense", {"clinician": "doctor", "wristband": product.patient.wristband})
    assert product.custodian_id == users["clinician"].id
    result = perform(
        product,
        "administer",
        {
            "wristband": product.patient.wristband,
            "site": "vertex",
            "method": "micro-injection",
            "volume_ml": 8,
        },
        as_="clinician",
    )
    assert result.unit.status == Status.ADMINISTERED
    actions = [e.action for e in entries_of(product.id)]
    assert actions[0] == "complete_processing"
    assert actions.count("record_qc") == len(required_tests(product.unit_type))
    assert actions[-4:] == ["release", "certificate_issued", "dispense", "administer"]
    (signature,) = signatures_of([product.id])
    assert signature.printed_name == "Test Qa" and signature.meaning == "approved for release"


def test_a_cryopreserved_msc_aliquot_is_thawed_months_later(users, perform, app):
    _source, svf = make_product("ADIPOSE", users, perform)
    perform(svf, "start_processing", {"protocol": "MSC expansion", "equipment": CABINET})
    for step in steps_for("SVF"):
        perform(svf, "record_step", step)
    made = perform(
        svf,
        "complete_processing",
        {"products": [{"type": "MSC(AT)", "volume_ml": 10, "cell_count": 50_000_000}]},
    )
    (msc,) = made.products
    for test in required_tests("MSC(AT)"):
        perform(msc, "record_qc", qc_data(test))
    perform(msc, "release", sign(), as_="qa")
    split = perform(msc, "split", {"aliquots": [{"volume_ml": 2}, {"volume_ml": 2}]})
    first, second = split.products
    assert (first.division, second.division) == ("A0", "B0")
    assert first.status == Status.RELEASED and first.expires_at == msc.expires_at

    freezer = locations.create_location("LN2 freezer", "freezer", None, users["admin"])
    box = locations.create_location("Box 1", "box", freezer, users["admin"], rows=9, columns=9)
    a1 = next(p for p in box.children if p.name == "A1")
    perform(first, "store", {"location": a1.code, "storage_temperature_c": -180.0})

    months_later = datetime.now(UTC) + timedelta(days=150)
    with time_machine.travel(months_later, tick=True):
        thawed = perform(first, "thaw", {"storage_temperature_c": 20.0})
        unit = thawed.unit
        assert unit.expires_at <= months_later + timedelta(hours=4, minutes=1)
        perform(unit, "dispense", {"clinician": "doctor"})
        perform(
            unit,
            "administer",
            {
                "wristband": unit.patient.wristband,
                "site": "frontal",
                "method": "mesotherapy",
                "volume_ml": 2,
            },
            as_="clinician",
        )
    assert unit.status == Status.ADMINISTERED
