"""QA's quick check (decision 94) on both backends: from the newest receipt the last full,
intact verification covered, only the entries after it are recomputed — and the answer says
what was not re-read. A break after the receipt is named, a forged receipt is passed over
(and reported), a cut tail is caught by a newer receipt, and with nothing to start from the
check says so and points to the full verification."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select, update

from lims.domain.errors import Conflict, Forbidden
from lims.extensions import db
from lims.models import Job, LedgerEntry, LedgerReceipt
from lims.services.custody import jobs, ledger, quick_check, receipts

from .lab import triggers_off
from .test_jobs import queued_only  # noqa: F401
from .test_receipts import cut_tail

ENTRIES = LedgerEntry.__table__
RECEIPTS = LedgerReceipt.__table__
JOBS = Job.__table__


def verify_in_full(users) -> int:
    """A full verification run to its verdict here; without a broker it issues a receipt of
    the head it found intact (decision 48)."""
    job_id = jobs.start_ledger_verify(users["qa"]).id
    db.session.commit()
    assert jobs.run_ledger_verify(job_id) == "done"
    db.session.rollback()
    return job_id


def more_entries(unit_in, count: int) -> None:
    for _ in range(count):
        unit_in("collected")  # one registration entry each
    db.session.commit()


def receipt_seqs() -> list[int]:
    return list(db.session.scalars(select(LedgerReceipt.seq).order_by(LedgerReceipt.id)))


def alter(seq: int) -> None:
    with triggers_off() as session:
        session.execute(update(ENTRIES).where(ENTRIES.c.seq == seq).values(reason="edited"))


@pytest.fixture
def verified(users, six_entries, unit_in, queued_only) -> int:  # noqa: F811
    """Six entries verified in full (the receipt of #6 issued with it), then two more."""
    job_id = verify_in_full(users)
    more_entries(unit_in, 2)
    assert receipt_seqs() == [6] and ledger.count() == 8
    return job_id


# ---------------------------------------------------------------------------- intact


@pytest.mark.req("P11-4")
def test_the_quick_check_recomputes_only_the_entries_after_the_receipt(verified):
    found = quick_check.check()

    assert found.intact, found.first_break
    assert found.anchor.seq == 6 and found.anchor.job_id == verified
    assert found.result.checked == 2 and found.result.last_seq == 8
    when = found.anchor.verified_at.strftime("%Y-%m-%d %H:%M UTC")
    assert found.coverage == (
        f"entries #7–#8 recomputed; entries up to #6 were found intact by the full "
        f"verification of {when} (job #{verified}) and not re-read now"
    )
    assert found.summary == f"Ledger intact from receipt #6: {found.coverage}."


def test_entries_up_to_the_receipt_are_not_read_again_and_the_answer_says_so(verified):
    """An entry altered before the receipt after the full verification: the quick check
    does not see it — it said it would not — and the full verification does."""
    alter(3)

    found = quick_check.check()

    assert found.intact and "entries up to #6 were found intact" in found.coverage
    assert "not re-read now" in found.coverage
    full = ledger.verify()
    assert not full.intact and full.first_break.seq == 3


def test_a_head_still_at_the_receipt_has_nothing_to_recompute(users, six_entries, queued_only):  # noqa: F811
    verify_in_full(users)

    found = quick_check.check()

    assert found.intact and found.result.checked == 0 and found.result.last_seq == 6
    assert found.coverage.startswith("no entries after #6 to recompute; entries up to #6")


def test_the_newest_receipt_the_verification_covered_is_the_start(verified, unit_in):
    """A receipt above the head the full verification reached is not covered by it: the check
    starts from the one at #6, and checks the newer one against the head."""
    ledger.issue_receipt()  # #8, after the verification
    more_entries(unit_in, 1)

    found = quick_check.check()

    assert found.intact and found.anchor.seq == 6 and found.result.checked == 3


def test_a_receipt_below_the_verified_head_ties_to_it_through_the_recomputed_entries(
    users,
    unit_in,
    queued_only,  # noqa: F811
    monkeypatch,
):
    """With a broker the verification issues no receipt: the check starts from the older
    receipt, recomputes past the verified head, and finds it with the hash it had."""
    more_entries(unit_in, 2)
    ledger.issue_receipt()  # #2
    more_entries(unit_in, 2)
    monkeypatch.setattr(receipts, "embedded", lambda: False)
    verify_in_full(users)  # reaches #4, no receipt
    more_entries(unit_in, 1)

    found = quick_check.check()

    assert receipt_seqs() == [2]
    assert found.intact and found.anchor.seq == 2 and found.anchor.verified_seq == 4
    assert found.result.checked == 3 and found.coverage.startswith("entries #3–#5 recomputed")


# ---------------------------------------------------------------------------- breaks


@pytest.mark.req("P11-4")
def test_an_entry_altered_after_the_receipt_is_named(verified):
    alter(7)

    found = quick_check.check()

    assert not found.intact
    assert found.first_break.seq == 7 and "altered" in found.first_break.problem
    assert found.result.checked == 0
    assert found.summary.startswith("LEDGER BROKEN at entry #7: content does not match")


def test_an_entry_missing_after_the_receipt_is_named(verified, unit_in):
    more_entries(unit_in, 1)
    cut_tail(7)

    found = quick_check.check()

    assert not found.intact and found.first_break.seq == 8
    assert "expected entry #7 next but found #8: entries are missing" in found.first_break.problem


def test_a_tail_cut_after_a_newer_receipt_is_caught_by_it(verified):
    ledger.issue_receipt()  # #8
    cut_tail(8)

    found = quick_check.check()

    assert found.anchor.seq == 6 and found.result.checked == 1
    assert not found.intact and found.first_break.seq == 8
    assert "ends at #7: entries were removed from the end" in found.first_break.problem


def test_a_forged_receipt_is_not_started_from_and_is_reported(users, unit_in, queued_only):  # noqa: F811
    """The receipt at #6 altered past the triggers (its hash "fixed"): the check starts from
    the genuine #4 instead, and the altered one, above it, fails as the full check fails it."""
    more_entries(unit_in, 4)
    ledger.issue_receipt()  # #4
    more_entries(unit_in, 2)
    verify_in_full(users)  # receipt #6
    with triggers_off() as session:
        session.execute(update(RECEIPTS).where(RECEIPTS.c.seq == 6).values(entry_hash="a" * 64))

    found = quick_check.check()

    assert found.anchor.seq == 4
    assert not found.intact and found.first_break.seq == 6
    assert "signature is not valid" in found.first_break.problem
    assert "signature is not valid" in ledger.verify().first_break.problem  # as the full says


def test_an_entry_cut_and_written_again_below_the_verified_head_is_caught(
    users,
    unit_in,
    queued_only,  # noqa: F811
    monkeypatch,
):
    """The tail cut as the owner could and appended again by the application: a consistent
    chain, but not the one the full verification found — #4 no longer has its hash."""
    more_entries(unit_in, 2)
    ledger.issue_receipt()  # #2
    more_entries(unit_in, 2)
    monkeypatch.setattr(receipts, "embedded", lambda: False)
    job_id = verify_in_full(users)  # reaches #4, no receipt above #2
    cut_tail(3, 4)
    more_entries(unit_in, 2)  # a new #3 and #4

    found = quick_check.check()

    assert found.anchor.seq == 2 and found.result.checked == 2
    assert not found.intact and found.first_break.seq == 4
    assert f"(job #{job_id})" in found.first_break.problem
    assert "no longer has the hash the full verification" in found.first_break.problem


def test_a_receipt_that_no_longer_holds_is_the_break(verified):
    cut_tail(3)

    found = quick_check.check()

    assert not found.intact and found.first_break.seq == 6
    assert "does not hold: 1 entry before it is missing, the first #3" in found.first_break.problem


# ---------------------------------------------------------------------------- nothing to start from


def test_without_a_full_verification_there_is_no_quick_check(six_entries):
    ledger.issue_receipt()

    with pytest.raises(Conflict, match="no full verification of the ledger has finished yet") as no:
        quick_check.check()

    assert no.value.code == "no_intact_receipt"
    assert no.value.message.endswith("Run the full verification.")


def test_without_a_receipt_the_check_says_so(users, six_entries, queued_only, monkeypatch):  # noqa: F811
    monkeypatch.setattr(receipts, "embedded", lambda: False)
    job_id = verify_in_full(users)

    with pytest.raises(Conflict) as no:
        quick_check.check()

    assert no.value.message == (
        "No quick check: no stored head receipt at or below entry #6, the head the last full "
        f"verification (job #{job_id}) found intact, has a valid signature. "
        "Run the full verification."
    )


def test_after_a_broken_full_verification_there_is_no_quick_check(verified, users):
    alter(2)
    job_id = verify_in_full(users)

    with pytest.raises(Conflict, match=rf"job #{job_id}, .*found the ledger broken at entry #2"):
        quick_check.check()


@pytest.mark.parametrize(
    "change",
    [{"head_seq": 8}, {"head_hash": "b" * 64}, {"verified_at": "2020-01-01T00:00:00.000000Z"}],
)
def test_an_altered_record_of_the_full_verification_is_not_relied_on(verified, change):
    verdict = json.loads(db.session.scalar(select(Job.result).where(Job.id == verified)))
    db.session.execute(
        update(JOBS).where(JOBS.c.id == verified).values(result=json.dumps({**verdict, **change}))
    )
    db.session.commit()

    with pytest.raises(Conflict, match="does not carry a valid signature"):
        quick_check.check()


def test_a_verification_from_before_quick_checks_is_not_relied_on(verified):
    verdict = json.loads(db.session.scalar(select(Job.result).where(Job.id == verified)))
    old = {k: verdict[k] for k in ("intact", "checked", "head_seq", "first_break")}
    db.session.execute(update(JOBS).where(JOBS.c.id == verified).values(result=json.dumps(old)))
    db.session.commit()

    with pytest.raises(Conflict, match="did not record the head it reached"):
        quick_check.check()


def test_too_many_entries_after_the_receipt_for_a_request(verified):
    with pytest.raises(
        Conflict, match=r"2 entries follow receipt #6, more than a quick check reads \(1\)"
    ):
        quick_check.check(limit=1)

    assert quick_check.check(limit=None).intact  # the command has no limit


# ---------------------------------------------------------------------------- the record


def test_the_button_records_a_finished_job_of_its_own_kind(verified, users):
    job = quick_check.run(users["admin"])

    assert job.kind == "ledger_quick_verify" and job.status == "done" and job.quick
    assert job.progress == job.total == 2 and job.intact
    assert job.result["from_seq"] == 6 and job.result["anchor_job"] == verified
    assert job.summary.startswith("Ledger intact from receipt #6: entries #7–#8 recomputed")
    db.session.rollback()
    listed = jobs.recent_jobs(users["qa"], kind=jobs.VERIFICATIONS)
    assert [j.kind for j in listed] == ["ledger_quick_verify", "ledger_verify"]
    assert jobs.get_job(job.id, users["qa"]).summary == job.summary
    # The QA home's "last verification" and the custody report read full ones only.
    assert [j.id for j in jobs.recent_jobs(users["qa"])] == [verified]


def test_nothing_is_recorded_when_there_is_nothing_to_start_from(users, six_entries):
    with pytest.raises(Conflict):
        quick_check.run(users["qa"])

    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_quick_check_writes_no_ledger_entry_and_no_receipt(verified, users):
    before = (ledger.count(), receipt_seqs())

    quick_check.run(users["qa"])
    quick_check.verify_from_receipt(users["qa"])

    assert (ledger.count(), receipt_seqs()) == before


@pytest.mark.parametrize("role", ["technician", "clinician"])
def test_only_qa_and_admins_run_quick_checks(verified, users, role):
    with pytest.raises(Forbidden):
        quick_check.run(users[role])
    with pytest.raises(Forbidden):
        quick_check.verify_from_receipt(users[role])

    assert db.session.scalar(select(func.count()).select_from(Job)) == 1  # the full one


# ---------------------------------------------------------------------------- the command


def verify_cli(runner, *args: str):
    return runner.invoke(args=["ledger", "verify", "--from-receipt", *args])


def test_the_command_checks_from_the_receipt(verified, runner):
    cli = verify_cli(runner)

    assert cli.exit_code == 0, cli.output
    assert re.fullmatch(
        r"ledger intact from receipt #6: entries #7–#8 recomputed; entries up to #6 were found "
        rf"intact by the full verification of \S+ \S+ UTC \(job #{verified}\) and not re-read now\n",
        cli.output,
    )


@pytest.mark.req("P11-4")
def test_the_command_exits_non_zero_naming_the_entry(verified, runner):
    alter(8)

    cli = verify_cli(runner)

    assert cli.exit_code == 1
    assert "LEDGER BROKEN after 1 good entries after receipt #6 — entry #8 (id" in cli.output
    assert "altered" in cli.output


def test_the_command_also_checks_a_receipt_kept_outside(verified, runner, tmp_path, unit_in):
    kept = tmp_path / "receipt.json"
    kept.write_text(json.dumps(ledger.issue_receipt()))  # #8
    cut_tail(8, with_receipts=True)

    cli = verify_cli(runner, "--receipt", str(kept))

    assert cli.exit_code == 1
    assert "names entry #8, but the ledger ends at #7" in cli.output


def test_with_nothing_to_start_from_the_command_verifies_in_full(six_entries, runner):
    cli = verify_cli(runner)

    assert cli.exit_code == 0
    assert "No quick check: no full verification of the ledger has finished yet." in cli.output
    assert "Verifying the whole ledger instead." in cli.output
    assert "ledger intact: 6 entries verified, head #6" in cli.output
