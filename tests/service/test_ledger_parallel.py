"""A long ledger is verified on several processes (decision 92): runs of entries checked in
worker processes of their own and joined give the answer the sequential check gives; a ledger
with a break in the middle of a run, or at the seam between two runs, is named exactly as the
sequential check names it. Real processes on both backends; the length above which the work is
spread and the runs' length are lowered so that a ledger of ninety entries is spread."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from lims.extensions import db
from lims.models import LedgerEntry
from lims.services.custody import ledger, ledger_parallel

from .lab import triggers_off

RUN = 10


@pytest.fixture
def ninety_entries(users, unit_in, monkeypatch, app) -> int:
    for _ in range(30):
        unit_in("in_processing")  # register, receive, start processing
    db.session.commit()
    monkeypatch.setattr(ledger_parallel, "PARALLEL_FROM", 50)
    monkeypatch.setattr(ledger_parallel, "RUN_LENGTH", RUN * 5)  # runs of RUN entries
    app.config["LEDGER_VERIFY_WORKERS"] = 2
    return ledger.count()


def sequential(app):
    app.config["LEDGER_VERIFY_WORKERS"] = 1
    try:
        return ledger.verify()
    finally:
        app.config["LEDGER_VERIFY_WORKERS"] = 2


@pytest.mark.req("P11-4")
def test_processes_agree_with_the_sequential_check(app, ninety_entries):
    seen: list[int] = []
    spread = ledger.verify(progress=seen.append)
    assert spread.intact and spread.checked == ninety_entries == 90
    assert spread == sequential(app)
    # reported once per run as each process finished, not once per entry: it was spread
    assert len(seen) == 90 // RUN and sorted(seen) == seen and seen[-1] == 90


@pytest.mark.parametrize("seq", [45, 41, 40])  # inside a run, a run's first, a run's last
def test_a_break_anywhere_is_named_as_the_sequential_check_names_it(app, ninety_entries, seq):
    with triggers_off() as session:
        session.execute(
            update(LedgerEntry).where(LedgerEntry.seq == seq).values(actor_name="Someone Else")
        )
    found = ledger.verify()
    assert not found.intact and found.first_break.seq == seq
    assert "content does not match its hash" in found.first_break.problem
    assert found == sequential(app)


def test_an_entry_cut_at_the_seam_of_two_runs_is_named(app, ninety_entries):
    with triggers_off() as session:  # #31, a registration no other row cites, opens a run
        session.execute(LedgerEntry.__table__.delete().where(LedgerEntry.seq == 31))
    found = ledger.verify()
    assert not found.intact and found.first_break.seq == 32
    assert "entries are missing" in found.first_break.problem
    assert found == sequential(app)


def test_the_worker_reads_the_ledgers_own_table():
    """The run's reader names the table without importing the models (decision 115)."""
    from lims.services.custody import ledger_runs

    assert LedgerEntry.__tablename__ == ledger_runs.TABLE
