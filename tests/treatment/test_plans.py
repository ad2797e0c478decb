"""Treatment plans and the dose of each session (issue 18, decision 111): the patient's
clinician plans a course; an administration fills its session with the dose from QC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lims.domain.errors import Conflict, Forbidden, Invalid
from lims.models import Appointment, LedgerEntry, TreatmentSession
from lims.services.actions import treatment, units
from tests.conftest import registration
from tests.service.lab import data_for, walk


def _plan_data(*sessions: tuple[str, str, float], **overrides):
    return {
        "indication": "androgenetic_alopecia",
        "stage_scale": "norwood_hamilton",
        "stage": "IV",
        "maintenance_months": 6,
        "sessions": [
            {
                "kind": kind,
                "product_type": product,
                "planned_at": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
            }
            for kind, product, days in sessions
        ],
        **overrides,
    }


@pytest.fixture
def collection(users):
    return units.register(registration(), users["clinician"]).unit


def test_a_plan_books_its_sessions_within_a_year_and_is_in_the_ledger(users, collection):
    plan = treatment.create_plan(
        collection.patient_id,
        _plan_data(("maintenance", "SVF", 400), ("initial", "SVF", 7), ("series", "PRP", 35)),
        users["clinician"],
    )
    assert plan.course_code == collection.chain_of_identity  # the patient's latest course
    numbers = [(s.number, s.kind, s.product_type) for s in plan.sessions]
    assert numbers == [(1, "initial", "SVF"), (2, "series", "PRP"), (3, "maintenance", "SVF")]
    booked = [s.appointment for s in plan.sessions]
    assert [a.kind if a else None for a in booked] == ["injection", "injection", None]
    entry = LedgerEntry.query.filter_by(action="plan_treatment").one()
    assert entry.unit_id is None
    recorded = json.loads(entry.data)
    assert (recorded["course"], recorded["stage"], len(recorded["sessions"])) == (
        plan.course_code,
        "IV",
        3,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stage_scale": "ludwig", "stage": "IV"}, "stage"),
        ({"stage_scale": "salt", "stage": "S1"}, "stage_scale"),
        ({"stage_scale": None, "stage": "IV"}, "stage_scale"),
        ({"course": "CH12"}, "course"),
        ({"indication": "baldness"}, "indication"),
    ],
)
def test_a_plan_refuses_what_does_not_fit_and_changes_nothing(users, collection, overrides, field):
    with pytest.raises(Invalid) as refused:
        treatment.create_plan(
            collection.patient_id,
            _plan_data(("initial", "SVF", 7), **overrides),
            users["clinician"],
        )
    assert field in refused.value.fields
    assert Appointment.query.count() == 0
    assert LedgerEntry.query.filter_by(action="plan_treatment").count() == 0


def test_only_the_patient_s_clinician_plans_and_a_course_is_planned_once(users, collection):
    with pytest.raises(Forbidden):
        treatment.create_plan(
            collection.patient_id, _plan_data(("initial", "SVF", 7)), users["technician"]
        )
    treatment.create_plan(
        collection.patient_id, _plan_data(("initial", "SVF", 7)), users["clinician"]
    )
    with pytest.raises(Conflict) as twice:
        treatment.create_plan(
            collection.patient_id, _plan_data(("initial", "SVF", 9)), users["clinician"]
        )
    assert twice.value.code == "course_planned"


def test_an_administration_fills_the_session_with_the_dose_from_qc(users, collection):
    plan = treatment.create_plan(
        collection.patient_id,
        _plan_data(("initial", "SVF", 1), ("maintenance", "SVF", 200)),
        users["clinician"],
    )
    product = walk(collection, "dispensed", users)  # SVF, 10 mL, 2.5 × 10⁶ viable cells
    given = {**data_for("administer", unit=product), "volume_ml": 4}
    result = units.perform_action(product.id, "administer", given, users["clinician"])

    first = TreatmentSession.query.filter_by(plan_id=plan.id, number=1).one()
    assert (first.status, first.unit_id, first.dose_volume_ml) == ("done", product.id, 4)
    assert first.dose_count == 1_000_000  # 2.5 × 10⁶ cells / 10 mL × 4 mL
    assert first.dose_basis == "viable_cell_count"
    assert first.appointment.status == "done"
    recorded = json.loads(result.entries[-1].data)
    assert recorded["dose"] == {
        "basis": "viable_cell_count",
        "volume_ml": 4,
        "count": 1_000_000,
        "per_ml": 250_000,
    }
    assert recorded["session"]["number"] == 1
    assert TreatmentSession.query.filter_by(plan_id=plan.id, number=2).one().status == "planned"


def test_a_prp_dose_is_the_platelet_concentration_times_the_volume(users):
    blood = units.register(
        registration("BLOOD", collection_site="antecubital vein", volume_ml=60), users["clinician"]
    ).unit
    product = walk(blood, "dispensed", users)  # PRP with 1,200 × 10³ platelets per µL
    given = {**data_for("administer", unit=product), "volume_ml": 2.5}
    units.perform_action(product.id, "administer", given, users["clinician"])
    assert treatment.dose_of(product, 2.5).count == 3_000_000_000  # 1.2 × 10⁹ /mL × 2.5 mL
