"""The readiness board at the service layer: estimates from the lab's own (seeded) history,
the expiry countdown, and the warnings when an appointment will not work out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from lims.extensions import db
from lims.models import Deviation
from lims.models.types import clock_at, utcnow
from lims.services.actions import units
from lims.services.audit import deviations
from lims.services.clinic import appointments, readiness
from tests.conftest import PASSWORD
from tests.service.lab import data_for, qc_data, registration, walk

from .readiness_lab import H, released_in_past

PROCESSING_HOURS = (2, 3, 3, 3, 4)  # median 3 h
SECOND_PATIENT = {"mrn": "MRN-2", "name": "Sam Second", "birth_date": "1975-02-03"}


@pytest.fixture
def history(users):
    """Five SVF products made over the last weeks: transit 2 h, waiting 1 h, processing
    2–4 h (median 3 h), QC and release 6 h."""
    start = utcnow() - timedelta(days=20)
    for i, hours in enumerate(PROCESSING_HOURS):
        released_in_past(
            users, start + timedelta(days=2 * i), processing=hours * H, mrn=f"MRN-H{i}"
        )


def received_half_an_hour_ago(users, **overrides):
    """An adipose collection of the clinician's patient, received 30 minutes ago."""
    now = utcnow()
    data = registration("ADIPOSE", collected_at=(now - 2 * H).isoformat(), **overrides)
    unit = units.register(data, users["clinician"]).unit
    with clock_at(now - timedelta(minutes=30)):
        units.perform_action(unit.id, "receive", data_for("receive"), users["technician"])
    return unit


def line_of(board, unit_id):
    lines = [line for row in board.rows for line in row.units if line.unit.id == unit_id]
    assert len(lines) == 1, [row.patient.name for row in board.rows]
    return lines[0]


def book(users, unit, kind="injection", at=None, **extra):
    at = at or utcnow() + 3 * H
    data = {"kind": kind, "scheduled_at": at.isoformat(), **extra}
    return appointments.book(unit.patient.id, data, users["clinician"])


def test_a_received_source_is_estimated_from_the_history_of_its_product(users, history):
    unit = received_half_an_hour_ago(users)
    line = line_of(readiness.board(users["clinician"]), unit.id)
    est = line.estimate
    # waiting: 1 h median less 30 min spent, then processing 3 h, QC and release 6 h
    expected = utcnow() + timedelta(hours=9, minutes=30)
    assert est.product_type == "SVF"
    assert abs(est.at - expected) < timedelta(minutes=2)
    assert est.low < est.at < est.high
    assert est.n == 5 and est.sure
    assert "from 5 products" in line.estimate_words
    assert line.words == "At the lab, waiting for processing"


def test_two_products_of_history_make_a_rough_guess(users):
    start = utcnow() - timedelta(days=10)
    for i in range(2):
        released_in_past(users, start + timedelta(days=i), mrn=f"MRN-R{i}")
    unit = received_half_an_hour_ago(users)
    line = line_of(readiness.board(users["clinician"]), unit.id)
    assert not line.estimate.sure
    assert line.estimate_words.startswith("rough guess: about ")
    assert "only 2 products so far" in line.estimate_words


def test_without_history_there_is_no_estimate(users):
    unit = received_half_an_hour_ago(users)
    line = line_of(readiness.board(users["clinician"]), unit.id)
    assert not line.estimate.available
    assert line.estimate_words.startswith("no estimate yet")


def test_a_product_in_qc_counts_only_what_is_left_of_qc(users, history):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "quarantine", users
    )
    line = line_of(readiness.board(users["clinician"]), product.id)
    spent = utcnow() - product.processed_at
    assert line.words == "In QC — awaiting release"
    assert abs(line.estimate.at - (utcnow() + 6 * H - spent)) < timedelta(minutes=2)


def test_an_out_of_spec_product_says_qa_must_decide_until_qa_has(users, history):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "quarantine", users
    )
    units.perform_action(product.id, "record_qc", qc_data("viability", 40.0), users["technician"])
    line = line_of(readiness.board(users["clinician"]), product.id)
    assert line.words == "In QC — out of specification, awaiting QA's decision"
    assert [w.code for w in line.warnings] == ["deviation_open"]
    assert line.estimate.available  # the estimate stands, with the warning beside it

    (deviation,) = db.session.scalars(select(Deviation)).all()
    decision = {"decision": "accepted_no_impact", "note": "recount", "password": PASSWORD}
    deviations.close(deviation.id, {**decision, "meaning": "reviewed"}, users["qa"])

    line = line_of(readiness.board(users["clinician"]), product.id)
    assert line.words == "In QC — awaiting release" and line.warnings == []


def test_a_receipt_deviation_of_the_source_follows_its_product(users):
    source = units.register(registration("ADIPOSE"), users["clinician"]).unit
    receipt = {**data_for("receive"), "temperature_c": 12.0, "deviation_note": "thin cool pack"}
    units.perform_action(source.id, "receive", receipt, users["technician"])
    line = line_of(readiness.board(users["clinician"]), source.id)
    assert line.words == "At the lab, waiting for processing"
    assert [w.code for w in line.warnings] == ["deviation_open"]


def test_an_open_deviation_of_the_source_warns_on_its_product_and_on_no_other_patient(users):
    source = units.register(registration("ADIPOSE"), users["clinician"]).unit
    receipt = {**data_for("receive"), "temperature_c": 12.0, "deviation_note": "thin cool pack"}
    units.perform_action(source.id, "receive", receipt, users["technician"])
    for step in ("start_processing", "complete_processing"):
        units.perform_action(source.id, step, data_for(step, "ADIPOSE"), users["technician"])
    (product,) = source.children
    other = walk(
        units.register(registration("ADIPOSE", patient=SECOND_PATIENT), users["clinician"]).unit,
        "quarantine",
        users,
    )
    board = readiness.board(users["clinician"])
    assert [w.code for w in line_of(board, product.id).warnings] == ["deviation_open"]
    assert line_of(board, other.id).warnings == []


def test_a_released_product_is_ready_and_counts_down_to_its_expiry(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    expires = product.expires_at
    line = line_of(readiness.board(users["clinician"]), product.id)
    assert line.ready and line.estimate is None
    assert line.countdown_to == expires
    assert line.words.startswith("Ready for injection — usable until ")

    with time_machine.travel(expires - timedelta(minutes=30), tick=False):
        line = line_of(readiness.board(users["clinician"]), product.id)
        assert line.ready and not line.expired
        from lims.timefmt import time_left

        assert time_left(line.countdown_to, utcnow()) == "0 h 30 min left"

    with time_machine.travel(expires + timedelta(minutes=1), tick=False):
        line = line_of(readiness.board(users["clinician"]), product.id)
        assert not line.ready and line.expired
        assert line.words.startswith("Expired ")
        assert [w.code for w in line.warnings] == ["expired"]


def test_an_injection_after_the_products_expiry_raises_the_warning(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    book(users, product, at=product.expires_at + 2 * H)
    line = line_of(readiness.board(users["clinician"]), product.id)
    (warning,) = line.warnings
    assert warning.code == "expires_before_appointment" and warning.level == "danger"
    assert "is after this product expires" in warning.text


def test_an_injection_before_the_expiry_raises_none(users):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    book(users, product, at=product.expires_at - 2 * H)
    line = line_of(readiness.board(users["clinician"]), product.id)
    assert line.warnings == [] and line.ready


def test_an_injection_before_the_estimated_ready_time_is_warned_of(users, history):
    unit = received_half_an_hour_ago(users)
    book(users, unit, at=utcnow() + 3 * H)  # the estimate says about 9.5 h
    line = line_of(readiness.board(users["clinician"]), unit.id)
    assert [w.code for w in line.warnings] == ["ready_after_appointment"]


def test_an_injection_with_nothing_under_way_is_warned_of(users):
    unit = units.register(registration("ADIPOSE"), users["clinician"]).unit
    units.perform_action(unit.id, "discard", data_for("discard"), users["technician"])
    book(users, unit)
    (row,) = readiness.board(users["clinician"]).rows
    assert row.units == [] and [w.code for w in row.warnings] == ["nothing_under_way"]


def test_patients_are_ordered_by_next_appointment_and_those_without_come_last(users, register):
    made = {
        name: register("ADIPOSE", mrn=mrn, name=name)
        for mrn, name in (("MRN-A", "Anna Later"), ("MRN-B", "Ben Sooner"), ("MRN-C", "Cleo None"))
    }
    book(users, made["Anna Later"], at=utcnow() + 30 * H)
    book(users, made["Ben Sooner"], kind="collection", at=utcnow() + 5 * H)
    board = readiness.board(users["clinician"])
    assert [row.patient.name for row in board.rows] == ["Ben Sooner", "Anna Later", "Cleo None"]


def test_the_board_is_the_clinicians_own(users, register):
    from lims.services.admin import accounts

    other = accounts.create_user("doctor2", "clinician", "test-pass-1234", full_name="Dr Two")
    mine = register("ADIPOSE", mrn="MRN-M")
    patient = {"mrn": "MRN-T", "name": "Their Patient", "birth_date": "1980-01-01"}
    theirs = units.register(registration("ADIPOSE", patient=patient), other).unit
    board = readiness.board(users["clinician"])
    assert [row.patient.id for row in board.rows] == [mine.patient.id]
    everyone = readiness.board(users["qa"])
    assert {row.patient.id for row in everyone.rows} == {mine.patient.id, theirs.patient.id}
    assert [r.patient.id for r in readiness.board(users["admin"], str(other.id)).rows] == [
        theirs.patient.id
    ]


@pytest.mark.parametrize(
    ("viewer", "asked", "status"),
    [
        ("qa", "abc", 422),
        ("qa", "99999999999", 422),
        ("qa", "424242", 404),
        ("clinician", "1", None),  # set below: another user's id
    ],
)
def test_a_bad_choice_of_board_is_refused(users, viewer, asked, status):
    from lims.domain.errors import ServiceError

    if status is None:
        asked, status = str(users["qa"].id), 403
    with pytest.raises(ServiceError) as refused:
        readiness.board(users[viewer], asked)
    assert refused.value.http_status == status


def test_past_times_in_history_are_in_the_ledger_as_played(users):
    start = datetime.now(UTC) - timedelta(days=3)
    product = released_in_past(users, start, mrn="MRN-L")
    assert product.collected_at == start
    assert product.released_at == start + 12 * H


def test_an_unnamed_injection_is_for_the_ready_product_not_a_fresh_collection(users, history):
    product = walk(
        units.register(registration("ADIPOSE"), users["clinician"]).unit, "released", users
    )
    fresh = received_half_an_hour_ago(users)  # the same patient (MRN-1)
    book(users, product, at=utcnow() + 3 * H)
    board = readiness.board(users["clinician"])
    assert line_of(board, product.id).warnings == []
    assert line_of(board, fresh.id).warnings == []  # not "probably not ready" for it
    assert line_of(board, fresh.id).appointment is None


def test_a_far_expiry_names_its_year(app):
    with app.test_request_context():
        assert readiness.when(utcnow() + timedelta(days=5 * 365)).split()[2].isdigit()


def test_the_boards_history_is_read_again_only_after_the_cache_time(app, users, history):
    """Production reads the stage history at most every TURNAROUND_CACHE_SECONDS: a product
    finished meanwhile counts once that time has passed (tests run with no cache)."""
    app.config["TURNAROUND_CACHE_SECONDS"] = 300
    unit = received_half_an_hour_ago(users)
    before = line_of(readiness.board(users["clinician"]), unit.id).estimate.n
    released_in_past(users, utcnow() - timedelta(days=2), mrn="MRN-LATE")

    assert line_of(readiness.board(users["clinician"]), unit.id).estimate.n == before
    with time_machine.travel(utcnow() + timedelta(seconds=301)):
        later = line_of(readiness.board(users["clinician"]), unit.id).estimate.n
    assert later == before + 1


def test_a_full_board_shows_the_first_patients_and_counts_no_quiet_ones(
    users, register, act, monkeypatch
):
    """Patients with a live unit or an appointment are on the board, in id order up to the
    cap; a patient whose units are all over is quiet, counted only when the board is whole."""
    live = [register("ADIPOSE", mrn=f"MRN-L{n}", name=f"Live {n}") for n in range(3)]
    over = register("ADIPOSE", mrn="MRN-Q", name="Quiet One")
    act(over, "reject", as_="technician", reason="clotted sample")
    booked = register("BLOOD", mrn="MRN-B", name="Booked Only")
    book(users, booked, kind="collection", at=utcnow() + 3 * H)
    act(booked, "reject", as_="technician", reason="clotted sample")

    whole = readiness.board(users["clinician"])
    on_board = [u.patient.id for u in live] + [booked.patient.id]
    assert sorted(row.patient.id for row in whole.rows) == sorted(on_board)
    assert (whole.truncated, whole.quiet) == (False, 1)

    monkeypatch.setattr(readiness, "MAX_PATIENTS", 2)
    capped = readiness.board(users["clinician"])
    assert {row.patient.id for row in capped.rows} == set(sorted(on_board)[:2])
    assert (capped.truncated, capped.quiet) == (True, 0)
