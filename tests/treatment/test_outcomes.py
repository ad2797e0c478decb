"""Outcome assessments (issue 18, decision 112): the visit schedule counted from the first
session given, one assessment per visit and corrections that keep the original, reminders
due and overdue once each (the clock moved with time-machine), and photographs whose stored
file is checked against the SHA-256 recorded when they were taken."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from lims.domain.errors import Conflict, Invalid
from lims.domain.treatment import add_months
from lims.extensions import db
from lims.models import LedgerEntry, Notification, OutcomeAssessment
from lims.services.actions import treatment, units
from lims.services.clinic import outcomes
from tests.conftest import registration
from tests.service.lab import data_for, walk


@pytest.fixture
def plan(users):
    collection = units.register(registration(), users["clinician"]).unit
    planned = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    return treatment.create_plan(
        collection.patient_id,
        {
            "indication": "androgenetic_alopecia",
            "sessions": [{"kind": "initial", "product_type": "SVF", "planned_at": planned}],
        },
        users["clinician"],
    ), collection


def _give(plan_and_unit, users):
    plan, collection = plan_and_unit
    product = walk(collection, "dispensed", users)
    units.perform_action(
        product.id, "administer", data_for("administer", unit=product), users["clinician"]
    )
    return plan


def _states(plan) -> dict[str, tuple[date | None, str]]:
    today = datetime.now(UTC).date()
    return {s.visit.key: (s.due_on, s.state(today, 14)) for s in outcomes.visits_of(plan)}


def test_the_baseline_is_due_at_the_first_session_and_later_visits_count_from_it(plan, users):
    planned_day = plan[0].sessions[0].planned_at.date()
    assert _states(plan[0]) == {
        "baseline": (planned_day, "upcoming"),
        "month_3": (None, "not_scheduled"),
        "month_6": (None, "not_scheduled"),
        "month_12": (None, "not_scheduled"),
    }
    given = _give(plan, users)
    today = datetime.now(UTC).date()
    states = _states(given)
    assert states["baseline"] == (today, "due")
    assert states["month_3"] == (add_months(today, 3), "upcoming")
    assert states["month_12"][0] == add_months(today, 12)


def test_a_visit_is_recorded_once_and_a_correction_keeps_the_original(plan, users):
    doctor = users["clinician"]
    the_plan = plan[0]
    first = outcomes.record(
        the_plan.id, {"visit": "baseline", "hair_count": 90, "area_cm2": 0.5}, doctor
    )
    assert first.density_per_cm2 == 180.0
    with pytest.raises(Conflict) as twice:
        outcomes.record(the_plan.id, {"visit": "baseline", "hair_count": 91}, doctor)
    assert twice.value.code == "already_assessed"
    with pytest.raises(Invalid) as bad:
        outcomes.record(
            the_plan.id, {"visit": "month_3", "hair_count": 95, "investigator_global": 4}, doctor
        )
    assert "investigator_global" in bad.value.fields
    with pytest.raises(Invalid) as at_baseline:
        outcomes.correct(
            first.id, {"hair_count": 90, "patient_global": 1, "reason": "typo"}, doctor
        )
    assert "patient_global" in at_baseline.value.fields
    with pytest.raises(Invalid) as no_reason:
        outcomes.correct(first.id, {"hair_count": 92}, doctor)
    assert "reason" in no_reason.value.fields

    fixed = outcomes.correct(
        first.id, {"hair_count": 96, "area_cm2": 0.5, "reason": "recounted"}, doctor
    )
    assert (fixed.corrects_id, fixed.density_per_cm2) == (first.id, 192.0)
    rows = db.session.scalars(select(OutcomeAssessment).order_by(OutcomeAssessment.id)).all()
    assert [(r.hair_count, r.corrects_id) for r in rows] == [(90, None), (96, first.id)]
    baseline = next(s for s in outcomes.visits_of(the_plan) if s.visit.key == "baseline")
    assert baseline.assessment.id == fixed.id
    with pytest.raises(Conflict) as stale:
        outcomes.correct(first.id, {"hair_count": 97, "reason": "again"}, doctor)
    assert stale.value.code == "stale_assessment"
    entries = LedgerEntry.query.filter(LedgerEntry.action.like("%_assessment")).order_by(
        LedgerEntry.seq
    )
    recorded = [(e.action, json.loads(e.data)["hair_count"], e.reason) for e in entries]
    assert recorded == [("record_assessment", 90, None), ("correct_assessment", 96, "recounted")]


def test_only_the_patient_s_clinician_records_and_the_append_only_table_refuses_change(plan, users):
    with pytest.raises(Exception) as refused:
        outcomes.record(plan[0].id, {"visit": "baseline", "hair_count": 90}, users["qa"])
    assert getattr(refused.value, "code", "") == "role_not_allowed"
    row = outcomes.record(plan[0].id, {"visit": "baseline", "hair_count": 90}, users["clinician"])
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(
            OutcomeAssessment.__table__.update()
            .where(OutcomeAssessment.id == row.id)
            .values(hair_count=1)
        )
        db.session.flush()
    db.session.rollback()


def _remind_on(day: date) -> int:
    with time_machine.travel(datetime.combine(day, time(12), UTC), tick=False):
        return outcomes.remind()


def test_a_visit_is_reminded_once_when_due_and_once_when_overdue(plan, users):
    doctor = users["clinician"]
    the_plan = _give(plan, users)
    outcomes.record(the_plan.id, {"visit": "baseline", "hair_count": 90}, doctor)
    due = add_months(datetime.now(UTC).date(), 3)
    # (day relative to the 3-month visit, reminders sent that day by the first run)
    for offset, sent in [(-8, 0), (-7, 1), (-3, 0), (14, 0), (15, 1), (30, 0)]:
        assert _remind_on(due + timedelta(days=offset)) == sent, offset
        assert _remind_on(due + timedelta(days=offset)) == 0, offset  # a second run: nothing
    titles = [
        (n.event, n.urgency, n.title)
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == doctor.id).order_by(Notification.id)
        )
        if n.event.startswith("assessment_")
    ]
    assert titles == [
        ("assessment_due", "normal", "Outcome visit due: patient MRN-1, 3 months visit"),
        ("assessment_overdue", "high", "Outcome visit overdue: patient MRN-1, 3 months visit"),
    ]
    outcomes.record(the_plan.id, {"visit": "month_3", "hair_count": 110}, doctor)
    assert _remind_on(add_months(datetime.now(UTC).date(), 6) - timedelta(days=7)) == 1  # month 6


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 90, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_photograph_changed_on_disk_is_caught_when_read(plan, users, app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path)
    doctor = users["clinician"]
    row = outcomes.record(plan[0].id, {"visit": "baseline", "hair_count": 90}, doctor)
    content = _png()
    with pytest.raises(Invalid) as not_png:
        outcomes.add_photo(row.id, "vertex", b"GIF89a" + content, "image/png", doctor)
    assert "photo" in not_png.value.fields
    with pytest.raises(Invalid) as bad_view:
        outcomes.add_photo(row.id, "sideways", content, "image/png", doctor)
    assert "view" in bad_view.value.fields

    photo = outcomes.add_photo(row.id, "vertex", content, "image/png", doctor)
    assert outcomes.read_photo(photo.id, users["qa"])[1] == content
    entry = LedgerEntry.query.filter_by(action="add_assessment_photo").one()
    assert json.loads(entry.data)["sha256"] == photo.sha256

    stored = tmp_path / photo.stored_as
    stored.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    with pytest.raises(outcomes.PhotoAltered) as altered:
        outcomes.read_photo(photo.id, users["qa"])
    assert "no longer matches the checksum" in altered.value.message
    stored.unlink()
    with pytest.raises(outcomes.PhotoAltered) as missing:
        outcomes.read_photo(photo.id, users["qa"])
    assert missing.value.code == "photo_missing"
