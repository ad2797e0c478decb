"""Adverse reactions (decision 113): a clinician reports one on a product given to the patient,
QA is told at once (urgent, in the inbox), investigates and closes it with a signed decision;
every refusal changes nothing, and a closed reaction is read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import AdverseReaction, LedgerEntry, Notification, OutboxEvent, Signature, Unit
from lims.services.admin import accounts
from lims.services.audit import adverse_reaction_pdf, adverse_reactions
from lims.services.custody import ledger

from .lab import PASSWORD
from .test_concurrency import at_once, winners_and_losers
from .test_shipment_pdf import pdf_text


@pytest.fixture
def given(unit_in) -> Unit:
    """An SVF given to Pat Example (MRN-1) just now."""
    product = unit_in("administered")
    db.session.commit()
    return product


def reaction(**overrides) -> dict:
    onset = datetime.now(UTC) - timedelta(seconds=30)  # just after the fixture gave it
    return {
        "onset_at": onset.isoformat(),
        "description": "Erythema and swelling at the injection sites, itching",
        "severity": "moderate",
        "relation": "probable",
        **overrides,
    }


def closing(**overrides) -> dict:
    return {
        "outcome": "Local inflammatory reaction to the injection; resolved in 48 h. No lot issue.",
        "password": PASSWORD,
        "meaning": "reviewed",
        **overrides,
    }


def written() -> tuple[int, int, int]:
    db.session.rollback()
    count = db.session.scalar(select(func.count()).select_from(AdverseReaction))
    events = db.session.scalar(select(func.count()).where(OutboxEvent.kind == "adverse_reaction"))
    return count, ledger.count(), events


@pytest.mark.req("T-9")
def test_a_report_reaches_qa_at_once_as_urgent_without_the_patients_name(given, users):
    found = adverse_reactions.report(given.id, reaction(), users["clinician"])

    assert (found.status, found.patient_id, found.unit_id) == ("open", given.patient_id, given.id)
    (entry,) = db.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.unit_id == given.id, LedgerEntry.action == "report_adverse_reaction"
        )
    )
    assert json.loads(entry.data)["reaction_id"] == found.id
    assert (entry.from_status, entry.to_status) == ("administered", "administered")
    (note,) = db.session.scalars(
        select(Notification).where(
            Notification.user_id == users["qa"].id, Notification.event == "adverse_reaction"
        )
    )
    assert note.urgency == "urgent" and note.unit_id == given.id
    assert "MRN-1" in note.body and "moderate" in note.body and f"#{found.id}" in note.body
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.kind == "adverse_reaction"))
    assert "Pat Example" not in event.payload and "Erythema" not in event.payload


def test_refusals_and_a_double_submit_change_nothing(given, users):
    doc2 = accounts.create_user("doc2", "clinician", PASSWORD, full_name="Other Doctor")
    source = given.parent  # the collection: same patient, never given
    before = written()

    cases = [
        (given.id, reaction(), users["technician"], Forbidden, "role_not_allowed"),
        (given.id, reaction(), doc2, NotFound, "not_found"),  # not their patient: no such unit
        (source.id, reaction(), users["clinician"], Conflict, "not_administered"),
        (
            given.id,
            reaction(patient_id=given.patient_id + 1),
            users["clinician"],
            Invalid,
            "other_patients_product",
        ),
        (given.id, reaction(severity="awful"), users["clinician"], Invalid, "invalid_fields"),
        (
            given.id,
            reaction(onset_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat()),
            users["clinician"],
            Invalid,
            "invalid_fields",
        ),
        (
            given.id,
            reaction(onset_at="0001-01-01T00:00:00+05:00"),  # before year 1 in UTC
            users["clinician"],
            Invalid,
            "invalid_fields",
        ),
    ]
    for unit_id, data, who, error, code in cases:
        with pytest.raises(error) as refused:
            adverse_reactions.report(unit_id, data, who)
        assert refused.value.code == code, (who.username, data)
    assert written() == before
    twice = reaction()  # a double submit: the same report again
    adverse_reactions.report(given.id, twice, users["clinician"])
    once = written()
    with pytest.raises(Conflict) as second:
        adverse_reactions.report(given.id, twice, users["clinician"])
    assert second.value.code == "already_reported" and written() == once


@pytest.mark.req("T-9")
def test_qa_investigates_and_closes_with_a_signed_decision_then_it_is_read_only(given, users):
    qa = users["qa"]
    found = adverse_reactions.report(given.id, reaction(), users["clinician"])
    with pytest.raises(Forbidden):
        adverse_reactions.add_note(found.id, {"note": "looked"}, users["clinician"])
    adverse_reactions.add_note(found.id, {"note": "Lot records reviewed: no deviation"}, qa)
    adverse_reactions.add_note(found.id, {"note": "Patient seen on day 2: resolving"}, qa)
    with pytest.raises(Invalid) as wrong:
        adverse_reactions.close(found.id, closing(password="guess"), qa)
    assert wrong.value.code == "wrong_password"

    closed = adverse_reactions.close(found.id, closing(), qa)

    assert (closed.status, closed.closed_by_id) == ("closed", qa.id)
    assert [n.text for n in adverse_reactions.notes_of(closed)] == [
        "Lot records reviewed: no deviation",
        "Patient seen on day 2: resolving",
    ]
    sig = db.session.get(Signature, closed.signature_id)
    assert (sig.action, sig.signer_id, sig.meaning) == ("close_adverse_reaction", qa.id, "reviewed")
    assert adverse_reactions.signature_matches(closed)
    entry = db.session.get(LedgerEntry, sig.ledger_entry_id)
    assert json.loads(entry.data)["signed_record"]["patient"]["mrn"] == "MRN-1"
    before = written()
    for attempt in (
        lambda: adverse_reactions.add_note(found.id, {"note": "one more"}, qa),
        lambda: adverse_reactions.close(found.id, closing(), qa),
    ):
        with pytest.raises(Conflict) as late:
            attempt()
        assert late.value.code == "already_closed"
    assert written() == before
    closed.outcome = "changed behind QA's back"
    assert not adverse_reactions.signature_matches(closed)
    db.session.rollback()


def test_the_reporter_may_not_close_their_own_report(given, users):
    reporter = users["clinician"]
    found = adverse_reactions.report(given.id, reaction(), reporter)
    reporter.role = "qa"  # moved to QA since
    db.session.commit()

    with pytest.raises(Conflict) as refused:
        adverse_reactions.close(found.id, closing(), reporter)

    assert refused.value.code == "two_person_rule"
    assert db.session.get(AdverseReaction, found.id).status == "open"


def test_a_product_lists_the_reactions_of_its_whole_collection(given, users, unit_in):
    found = adverse_reactions.report(given.id, reaction(), users["clinician"])
    severe = adverse_reactions.report(
        given.id, reaction(severity="severe", description="Fainted"), users["clinician"]
    )
    adverse_reactions.close(found.id, closing(), users["qa"])
    source = given.parent

    assert [r.id for r in adverse_reactions.of_lot(source, users["qa"])] == [severe.id, found.id]
    listed = adverse_reactions.list_reactions(users["qa"], severity="severe")
    assert [r.id for r in listed.rows] == [severe.id] and listed.open_count == 1
    with pytest.raises(Forbidden):
        adverse_reactions.list_reactions(users["clinician"])


@pytest.mark.req("T-9")
def test_the_report_pdf_names_the_product_and_the_decision_never_the_patient(given, users):
    found = adverse_reactions.report(given.id, reaction(), users["clinician"])
    adverse_reactions.add_note(
        found.id, {"note": "Lot records reviewed: no deviation"}, users["qa"]
    )
    interim = pdf_text(adverse_reaction_pdf.report_pdf(found))
    closed = adverse_reactions.close(found.id, closing(), users["qa"])

    text = pdf_text(adverse_reaction_pdf.report_pdf(closed))

    assert "OPEN — not decided" in interim
    for expected in (
        f"Adverse reaction report #{found.id}",
        given.eye_readable,
        given.product_code,
        "MRN-1",
        "Erythema and swelling",
        "moderate",
        "Lot records reviewed: no deviation",
        "resolved in 48 h",
        "Signed by Test Qa",
        closed.signature.record_hash,
    ):
        assert expected in text, expected
    assert "Pat Example" not in text and given.patient.wristband not in text
    assert "OPEN — not decided" not in text


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"])  # races: SQLite serialises transactions
def test_two_qa_closing_at_once_one_wins_the_other_gets_409(app, given, users):
    qa2 = accounts.create_user("qa2", "qa", PASSWORD, full_name="Second Qa")
    reaction_id = adverse_reactions.report(given.id, reaction(), users["clinician"]).id

    def close(user):
        return adverse_reactions.close(reaction_id, closing(), user).status

    outcomes = at_once(app, [(users["qa"].id, close), (qa2.id, close)])

    winners, losers = winners_and_losers(outcomes)
    assert (winners, len(losers)) == (["closed"], 1)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Signature)
            .where(Signature.action == "close_adverse_reaction")
        )
        == 1
    )
