"""The outcomes analysis (decision 114) on a small hand-made set: three SVF courses given
through the services with chosen QC, assessed at baseline and 6 months (one corrected), one
assessed at 3 months before its product was given. The numbers, then the page, the CSV and the
API on SQLite (plain reads: nothing the backends could answer differently)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from lims.domain import outcome_analysis as bands
from lims.services.actions import treatment, units
from lims.services.admin import accounts
from lims.services.clinic import outcome_analysis as analysis
from lims.services.clinic import outcomes
from tests.backends import backend  # noqa: F401  (SQLite alone: the reads are plain)
from tests.conftest import registration
from tests.service.lab import AFTER_QUARANTINE, data_for, qc_data, required_tests, walk

GIVEN_ML = 1  # what data_for("administer") gives


def _course(users, mrn: str, cells: float, viability: float, densities: tuple, month_3=None):
    """An SVF course whose product holds ``cells`` viable cells per mL given, with
    ``viability``; baseline and 6-month hair counts at 1 cm² (``densities``)."""
    doctor = users["clinician"]
    collection = units.register(registration(mrn=mrn, name=f"Patient {mrn}"), doctor).unit
    planned = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    plan = treatment.create_plan(
        collection.patient_id,
        {
            "indication": "androgenetic_alopecia",
            "sessions": [{"kind": "initial", "product_type": "SVF", "planned_at": planned}],
        },
        doctor,
    )
    before = datetime.now(UTC) - timedelta(minutes=1)
    baseline, six = densities
    outcomes.record(
        plan.id, {"visit": "baseline", "hair_count": baseline, "assessed_at": before}, doctor
    )
    if month_3 is not None:  # assessed before the product was given
        outcomes.record(
            plan.id, {"visit": "month_3", "hair_count": month_3, "assessed_at": before}, doctor
        )
    product = walk(collection, "quarantine", users)
    values = {"viable_cell_count": cells * product.volume_ml, "viability": viability}
    for test in required_tests("SVF"):
        units.perform_action(
            product.id, "record_qc", qc_data(test, values.get(test)), users["technician"]
        )
    for step, role in AFTER_QUARANTINE["administered"][1:]:
        units.perform_action(product.id, step, data_for(step, "SVF", product), users[role])
    row = outcomes.record(plan.id, {"visit": "month_6", "hair_count": six}, doctor)
    return plan, row


@pytest.fixture
def three(users):
    doctor = users["clinician"]
    made = [
        _course(users, "MRN-A1", 3e6, 75.0, (120, 130), month_3=118),
        _course(users, "MRN-A2", 12e6, 85.0, (100, 120)),
        _course(users, "MRN-A3", 40e6, 95.0, (130, 150)),
    ]
    # the third 6-month count was misread: corrected to 160 (+30 from baseline)
    outcomes.correct(made[2][1].id, {"hair_count": 160, "reason": "recounted"}, doctor)
    return made


def test_the_response_is_each_visit_s_current_value_less_baseline_grouped_with_n_and_quartiles(
    three, users
):
    result = analysis.analyse(users["qa"], analysis.parse_visit({}))

    assert result.visit.key == "month_6"
    by_mrn = {c.mrn: c for c in result.courses}
    assert [by_mrn[m].response for m in ("MRN-A1", "MRN-A2", "MRN-A3")] == [10.0, 20.0, 30.0]
    third = by_mrn["MRN-A3"]
    assert [(v.visit, v.density_change, v.corrected) for v in third.visits] == [
        ("baseline", 0.0, False),
        ("month_6", 30.0, True),
    ]
    assert [by_mrn[m].cells for m in ("MRN-A1", "MRN-A2", "MRN-A3")] == [3e6, 12e6, 40e6]
    assert [by_mrn[m].groups["dose"] for m in ("MRN-A1", "MRN-A2", "MRN-A3")] == [
        b.label for b in bands.CELL_BANDS
    ]
    assert [by_mrn[m].groups["viability"] for m in ("MRN-A1", "MRN-A2", "MRN-A3")] == [
        b.label for b in bands.VIABILITY_BANDS
    ]
    # the bench's batch record: ten minutes a step, four fifths of it working
    assert {c.digestion_min for c in result.courses} == {8.0}

    groupings = {g.key: g for g in result.groupings}
    (svf,) = groupings["product_type"].groups
    assert (svf.label, svf.spread) == ("SVF", bands.Spread(3, 20.0, 15.0, 25.0, 10.0, 30.0))
    (short,) = groupings["digestion"].groups
    assert (short.label, short.spread.n) == ("digestion < 45 min", 3)
    assert [g.spread.n for g in groupings["dose"].groups] == [1, 1, 1]

    # At 3 months only the first course was assessed, before its product was given: nothing
    # given counts, and its change is from baseline (118 − 120).
    early = analysis.analyse(users["qa"], analysis.parse_visit({"visit": "month_3"}))
    (first,) = [c for c in early.courses if c.response is not None]
    assert (first.mrn, first.response, first.product_types) == ("MRN-A1", -2.0, ())
    assert first.groups["dose"] == bands.NO_DOSE

    # A clinician sees their own patients only: another clinician none of these.
    other = accounts.create_user("doc2", "clinician", "test-pass-1234", full_name="Dr. Other")
    assert analysis.analyse(other, result.visit).courses == ()


def test_spread_uses_inclusive_quartiles_and_a_value_on_an_edge_goes_up():
    assert bands.spread([]) is None
    assert bands.spread([4.0]) == bands.Spread(1, 4.0, 4.0, 4.0, 4.0, 4.0)
    assert bands.spread([1, 2, 3, 4]) == bands.Spread(4, 2.5, 1.75, 3.25, 1, 4)
    assert bands.band(5e6, bands.CELL_BANDS, bands.NO_DOSE) == "cells 5 to < 20 × 10⁶"
    assert bands.dose_band(None, 12e9) == "platelets ≥ 10 × 10⁹"
    assert bands.dose_band(None, None) == bands.NO_DOSE


def test_the_page_the_csv_and_the_api_show_the_same_numbers(three, client, login, token):
    login("qa")
    page = client.get("/outcomes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 5 and "cdn" not in html.lower()
    assert 'data-group="SVF"' in html and "+20.0" in html and "+15.0 to +25.0" in html

    bad = client.get("/outcomes?visit=month_99")
    assert bad.status_code == 422 and "month_3" in bad.get_data(as_text=True)

    download = client.get("/outcomes/export.csv")
    assert download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    corrected = [r for r in rows if r["mrn"] == "MRN-A3" and r["visit"] == "month_6"]
    assert [(r["density_change"], r["corrected"]) for r in corrected] == [("30.0", "yes")]
    assert len(rows) == 7  # 3 baselines, 3 six-month visits, 1 three-month visit

    answer = client.get("/api/v1/outcomes", headers=token("qa"))
    assert answer.status_code == 200
    body = answer.get_json()
    product = next(g for g in body["groupings"] if g["key"] == "product_type")
    assert product["groups"] == [
        {
            "label": "SVF",
            "n": 3,
            "median": 20.0,
            "q1": 15.0,
            "q3": 25.0,
            "min": 10.0,
            "max": 30.0,
            "values": [10.0, 20.0, 30.0],
        }
    ]
    refused = client.get("/api/v1/outcomes?visit=baseline", headers=token("qa"))
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"]["visit"]
