"""Signed head receipts for QA (docs/product.md §5): checked stored or pasted back in,
a receipt catches a tail cut from the ledger — also when the receipts table was cut with
it — and a forged one is refused; beat and, without a broker, each intact verification
issue them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from config import celery_config
from lims.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.models import LedgerEntry, LedgerReceipt, MaterialUse
from lims.services.custody import jobs, ledger, receipts
from lims.worker import tasks

from .lab import triggers_off
from .test_jobs import finished

ENTRIES = LedgerEntry.__table__
USES = MaterialUse.__table__
RECEIPTS = LedgerReceipt.__table__


@pytest.fixture
def kept(six_entries) -> dict:
    """A receipt of head #6, as QA keeps it outside (the JSON the list downloads)."""
    return ledger.issue_receipt()


def cut_tail(*seqs: int, with_receipts: bool = False) -> None:
    """Remove entries as the database owner could, with the equipment uses that cite them."""
    with triggers_off() as session:
        cut = select(ENTRIES.c.id).where(ENTRIES.c.seq.in_(seqs))
        session.execute(delete(USES).where(USES.c.ledger_entry_id.in_(cut)))
        session.execute(delete(ENTRIES).where(ENTRIES.c.seq.in_(seqs)))
        if with_receipts:
            session.execute(delete(RECEIPTS))


def pasted(payload: dict, users) -> receipts.ReceiptCheck:
    try:
        return receipts.check_pasted(json.dumps(payload), users["qa"])
    finally:
        db.session.rollback()


def stored_id() -> int:
    return db.session.scalar(select(func.max(LedgerReceipt.id)))


# ---------------------------------------------------------------------------- checking


def test_a_receipt_of_an_intact_ledger_holds(kept, users):
    found = pasted(kept, users)

    assert found.ok and found.signature_valid, found.problems
    assert (found.seq, found.head_seq) == (6, 6)
    assert found.summary.startswith("Receipt holds: entry #6")


def test_a_stored_receipt_is_checked_the_same_way(kept, users):
    receipt, found = receipts.check_stored(stored_id(), users["admin"])

    assert receipt.seq == 6 and found.ok


def test_a_cut_tail_is_caught_naming_the_missing_entries(kept, users):
    cut_tail(5, 6)

    _, found = receipts.check_stored(stored_id(), users["qa"])

    assert not found.ok and found.signature_valid
    assert found.head_seq == 4
    assert found.problems == [
        f"entries #5–#6 signed on {kept['issued_at']} are missing: the ledger now ends at #4, "
        "so entries were removed from its end"
    ]


def test_a_receipt_kept_outside_catches_a_tail_cut_with_the_receipts(kept, users):
    cut_tail(6, with_receipts=True)
    assert (
        ledger.verify().intact
    )  # what is left is consistent, and no stored receipt says otherwise
    assert receipts.list_receipts(users["qa"]).total == 0

    found = pasted(kept, users)

    assert not found.ok
    assert "entry #6 signed on" in found.problems[0] and "is missing" in found.problems[0]
    assert found.summary.startswith("RECEIPT DOES NOT HOLD: entry #6")


def test_a_tail_cut_and_written_again_is_caught_by_the_changed_hash(kept, users, unit_in):
    cut_tail(6, with_receipts=True)
    unit_in("collected")  # the application appends a new #6 to what is left
    db.session.commit()

    found = pasted(kept, users)

    assert found.head_seq == 6
    assert found.problems == ["entry #6 no longer has the hash the receipt signed: it was replaced"]


def test_an_older_genuine_receipt_put_back_cannot_hide_a_cut_tail(six_entries, unit_in):
    """The attack: cut the tail as the database owner, then put an older genuine receipt
    back so that it is the newest row. The database refuses the receipt (they only move
    forward), and even one slipped in past the trigger leaves the cut in plain view: the
    verification checks every receipt, the highest entry first."""
    ledger.issue_receipt()  # head #6
    old = db.session.execute(select(RECEIPTS).where(RECEIPTS.c.seq == 6)).mappings().one()
    unit_in("collected")
    db.session.commit()
    ledger.issue_receipt()  # head #7
    cut_tail(7)
    genuine = {k: v for k, v in old.items() if k != "id"}

    with pytest.raises(DBAPIError):  # as the app: refused
        db.session.execute(insert(RECEIPTS).values(**genuine))
        db.session.flush()
    db.session.rollback()
    with triggers_off() as session:  # as the owner, past the trigger
        session.execute(insert(RECEIPTS).values(**genuine))

    result = ledger.verify()
    assert not result.intact
    assert result.first_break.seq == 7
    assert "ends at #6: entries were removed from the end" in result.first_break.problem


def test_a_receipt_below_one_stored_is_refused_by_the_database(six_entries):
    ledger.issue_receipt()
    stored = db.session.execute(select(RECEIPTS)).mappings().one()

    with pytest.raises(DBAPIError):
        db.session.execute(insert(RECEIPTS).values(**{**stored, "id": None, "seq": 5}))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RECEIPTS)) == 1


def test_a_head_signed_already_is_answered_not_signed_twice(six_entries, users):
    ledger.issue_receipt()

    assert ledger.issue_receipt()["seq"] == 6  # the same receipt back
    with pytest.raises(Conflict, match="already signed"):
        receipts.issue(users["qa"])
    assert db.session.scalar(select(func.count()).select_from(RECEIPTS)) == 1


def test_a_cut_ledger_is_not_signed(kept, users):
    cut_tail(6)

    with pytest.raises(Conflict, match="removed from the end"):
        ledger.issue_receipt()


def test_entries_missing_before_the_signed_one_are_named(kept, users):
    cut_tail(3, 4)

    found = pasted(kept, users)

    assert found.problems == ["2 entries before it are missing, the first #3"]


def test_the_first_entry_missing_is_named_too(kept, users):
    cut_tail(1)

    assert pasted(kept, users).problems == ["1 entry before it is missing, the first #1"]


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 99},
        {"seq": 5},
        {"entry_hash": "a" * 64},
        {"issued_at": "2020-01-01T00:00:00.000000Z"},
    ],
)
def test_a_forged_receipt_is_refused(kept, users, change):
    found = pasted({**kept, **change}, users)

    assert not found.ok and not found.signature_valid
    assert "signature is not valid" in found.problems[0]


def test_a_receipt_of_another_ledger_key_is_refused(kept, users, app, monkeypatch):
    monkeypatch.setitem(app.config, "LEDGER_KEY", "another-ledger-key")

    assert not pasted(kept, users).signature_valid


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "paste the receipt"),
        ("   ", "paste the receipt"),
        ("not json", "not JSON"),
        ("[" * 5000, "under 4000 characters"),
        ("[" * 3000 + "]" * 3000, "under 4000 characters"),
        ("[" * 1500 + "]" * 1500, "not JSON"),  # too deep to read
        ('"a string"', "JSON object"),
        ('{"seq": 6}', "lacks entry_hash, issued_at, signature"),
        ('{"seq": true, "entry_hash": "", "issued_at": "", "signature": ""}', "seq"),
        ('{"seq": -1, "entry_hash": "", "issued_at": "", "signature": ""}', "seq"),
        ('{"seq": 1e400, "entry_hash": "", "issued_at": "", "signature": ""}', "seq"),
        (
            '{"seq": 100000000000000000000, "entry_hash": "", "issued_at": "", "signature": ""}',
            "seq",
        ),
        ('{"seq": 1, "entry_hash": "xyz", "issued_at": "", "signature": ""}', "entry_hash"),
        (
            '{"seq": 1, "entry_hash": "'
            + "a" * 64
            + '", "issued_at": 5, "signature": "'
            + "b" * 64
            + '"}',
            "issued_at",
        ),
        (
            '{"seq": 1, "entry_hash": "' + "a" * 64 + '", "issued_at": "x", "signature": "B"}',
            "signature",
        ),
    ],
)
def test_what_is_not_a_receipt_is_refused_with_the_reason(users, text, says):
    with pytest.raises(Invalid) as refused:
        receipts.check_pasted(text, users["qa"])

    assert refused.value.code == "invalid_receipt"
    assert says in refused.value.message
    assert "receipt" in refused.value.fields


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_only_qa_and_admins_see_issue_or_check_receipts(kept, users, role):
    for call in (
        lambda: receipts.list_receipts(users[role]),
        lambda: receipts.issue(users[role]),
        lambda: receipts.check_stored(stored_id(), users[role]),
        lambda: receipts.check_pasted(json.dumps(kept), users[role]),
    ):
        with pytest.raises(Forbidden):
            call()
    assert db.session.scalar(select(func.count()).select_from(LedgerReceipt)) == 1


@pytest.mark.parametrize("receipt_id", [0, -1, 424242, 2**31, 10**30])
def test_an_unknown_receipt_is_not_found(users, receipt_id):
    with pytest.raises(NotFound):
        receipts.check_stored(receipt_id, users["qa"])


# ---------------------------------------------------------------------------- the list


def test_the_list_is_newest_first_and_says_whether_each_signature_is_valid(
    six_entries, users, unit_in
):
    first = ledger.issue_receipt()
    unit_in("collected")  # the head moves on, so the second receipt signs a new head
    db.session.commit()
    second = receipts.issue(users["qa"])
    with triggers_off() as session:  # an owner "fixes" the older receipt's signature
        session.execute(
            update(RECEIPTS)
            .where(RECEIPTS.c.seq == first["seq"])
            .values(signature="0" * 64)
            .where(RECEIPTS.c.signature == first["signature"])
        )

    page = receipts.list_receipts(users["qa"])

    assert [r.payload["signature"] for r in page.rows] == [second["signature"], "0" * 64]
    assert [r.signature_valid for r in page.rows] == [True, False]
    assert page.total == 2 and page.pages == 1


@pytest.mark.parametrize("page_number", [0, -5, 10**12])
def test_any_page_number_gives_a_page(six_entries, users, page_number):
    ledger.issue_receipt()

    page = receipts.list_receipts(users["qa"], page_number)

    assert page.total == 1 and 1 <= page.page <= receipts.MAX_PAGE


# ---------------------------------------------------------------------------- issuing


def test_a_periodic_receipt_is_issued_only_when_the_head_moved(six_entries, unit_in):
    assert receipts.issue_if_moved()["seq"] == 6
    assert receipts.issue_if_moved() is None  # a quiet ledger adds none
    unit_in("collected")
    db.session.commit()

    assert receipts.issue_if_moved()["seq"] == 7


def test_an_empty_ledger_gets_no_periodic_receipt(users):
    assert receipts.issue_if_moved() is None


def test_beat_issues_receipts_every_head_receipt_minutes(six_entries, monkeypatch):
    monkeypatch.setenv("HEAD_RECEIPT_MINUTES", "15")
    entry = celery_config("redis://broker.invalid:6379/0")["beat_schedule"]["head-receipt"]

    assert entry == {"task": "lims.issue_head_receipt", "schedule": 900.0}
    assert tasks.issue_head_receipt.name == "lims.issue_head_receipt"
    assert tasks.issue_head_receipt.run() == 6  # what the worker runs
    assert tasks.issue_head_receipt.run() is None


def test_without_a_broker_an_intact_verification_issues_a_receipt(six_entries, users):
    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.intact
    assert [r.payload["seq"] for r in receipts.list_receipts(users["qa"]).rows] == [6]


def test_a_broken_ledger_gets_no_receipt_from_its_verification(six_entries, users):
    with triggers_off() as session:
        session.execute(update(ENTRIES).where(ENTRIES.c.seq == 2).values(reason="edited"))

    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.intact is False
    assert receipts.list_receipts(users["qa"]).total == 0


def test_with_a_broker_beat_issues_them_not_the_verification(six_entries, users, app, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY", celery_config("redis://broker.invalid:6379/0"))
    monkeypatch.setattr(jobs, "_dispatch", lambda job_id: None)
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()

    assert jobs.run_ledger_verify(job_id) == "done"
    assert receipts.list_receipts(users["qa"]).total == 0


# ---------------------------------------------------------------------------- with the job


def test_the_verification_job_reports_a_cut_tail_through_the_stored_receipt(kept, users):
    cut_tail(6)

    job = finished(jobs.start_ledger_verify(users["qa"]).id, users["qa"])

    assert job.status == "done" and job.intact is False
    assert job.first_break["seq"] == 6
    assert "removed from the end" in job.first_break["problem"]
    assert job.summary.startswith("LEDGER BROKEN at entry #6")
