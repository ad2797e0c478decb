"""Tamper evidence (docs/product.md §5) on both backends: the database refuses changes to the
ledger; and when the database owner gets past the triggers anyway, ``ledger verify`` and
``ledger.verify()`` name the first entry that no longer fits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, insert, select, text, update

from lims import create_app
from lims.extensions import db
from lims.models import LedgerEntry, LedgerReceipt
from lims.services.custody import ledger

from .lab import triggers_off

ENTRIES = LedgerEntry.__table__


@pytest.fixture
def six_entries(users, unit_in) -> None:
    """A ledger of six entries: three collections, one received, one in processing, one new.
    (Entry 3, which the tests cut or alter, is a registration: no other row cites it.)"""
    unit_in("received")  # register, receive: two entries
    unit_in("in_processing")  # register, receive, start processing: three
    unit_in("collected")  # one
    db.session.commit()
    assert ledger.count() == 6


def verify_cli(runner, *args: str):
    return runner.invoke(args=["ledger", "verify", *args])


def assert_caught_at(runner, seq: int, problem: str) -> None:
    result = ledger.verify()
    assert not result.intact
    assert result.first_break.seq == seq
    assert problem in result.first_break.problem
    cli = verify_cli(runner)
    assert cli.exit_code != 0
    assert f"#{seq}" in cli.output and problem in cli.output


# ---------------------------------------------------------------------------- triggers on


def test_an_intact_ledger_verifies(six_entries, runner):
    assert ledger.verify().intact
    cli = verify_cli(runner)
    assert cli.exit_code == 0
    assert "6 entries verified" in cli.output


@pytest.mark.req("P11-4", "T-8")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET actor_name = 'Mallory' WHERE seq = 3",
        "UPDATE ledger_entries SET seq = seq + 100",
        "DELETE FROM ledger_entries WHERE seq = 6",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_receipts SET seq = 0",
        "DELETE FROM ledger_receipts",
    ],
)
def test_the_database_refuses_to_change_the_ledger(statement, six_entries):
    ledger.issue_receipt()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert ledger.count() == 6
    assert ledger.verify().intact


def test_truncating_the_ledger_is_refused(backend, six_entries):
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE statement")
    for table in ("ledger_entries", "ledger_receipts"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(text(f"TRUNCATE {table} CASCADE"))
        db.session.rollback()
    assert ledger.count() == 6


def test_a_forged_entry_appended_at_the_end_is_caught(six_entries, runner):
    head = db.session.scalars(select(LedgerEntry).where(LedgerEntry.seq == 6)).one()
    forged = {c.name: getattr(head, c.name) for c in ENTRIES.columns if c.name != "id"}
    forged.update(seq=7, prev_hash=head.entry_hash, actor_name="Mallory", entry_hash="e" * 64)
    db.session.execute(insert(ENTRIES).values(**forged))  # inserting is allowed: appending
    db.session.commit()
    assert_caught_at(runner, 7, "altered")


# ---------------------------------------------------------------------------- triggers off


def edit(field: str, value) -> None:
    with triggers_off() as session:
        session.execute(update(ENTRIES).where(ENTRIES.c.seq == 3).values({field: value}))


@pytest.mark.req("P11-4")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor_name", "Mallory"),
        ("data", json.dumps({"temperature_c": 37})),
        ("to_status", "released"),
        ("reason", "edited afterwards"),
        ("actor_id", "qa"),  # blame someone else: the id of that user
    ],
)
def test_an_edited_entry_is_caught(field, value, six_entries, users, runner):
    edit(field, users[value].id if field == "actor_id" else value)
    assert_caught_at(runner, 3, "altered")


def test_the_triggers_are_back_after_tampering(six_entries):
    edit("actor_name", "Mallory")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM ledger_entries WHERE seq = 1"))
    db.session.rollback()


def test_an_entry_with_a_moved_time_is_caught(six_entries, runner):
    recorded = db.session.scalar(select(LedgerEntry.recorded_at).where(LedgerEntry.seq == 3))
    edit("recorded_at", recorded - timedelta(seconds=1))
    assert_caught_at(runner, 3, "altered")


@pytest.mark.req("P11-4")
def test_a_deleted_middle_entry_is_caught(six_entries, runner):
    with triggers_off() as session:
        session.execute(delete(ENTRIES).where(ENTRIES.c.seq == 3))
    assert_caught_at(runner, 4, "expected entry #3 next but found #4")


@pytest.mark.req("P11-4")
def test_a_forged_entry_inserted_in_the_middle_is_caught(six_entries, runner):
    second = db.session.scalars(select(LedgerEntry).where(LedgerEntry.seq == 2)).one()
    forged = {c.name: getattr(second, c.name) for c in ENTRIES.columns if c.name != "id"}
    forged.update(seq=3, prev_hash=second.entry_hash, actor_name="Mallory", entry_hash="f" * 64)
    with triggers_off() as session:
        # make room as a forger would: entries 3.. move up by one, keeping seq unique
        session.execute(update(ENTRIES).where(ENTRIES.c.seq >= 3).values(seq=ENTRIES.c.seq + 100))
        session.execute(update(ENTRIES).where(ENTRIES.c.seq >= 100).values(seq=ENTRIES.c.seq - 99))
        session.execute(insert(ENTRIES).values(**forged))
    assert ledger.count() == 7
    assert_caught_at(runner, 3, "altered")


@pytest.mark.req("P11-4")
def test_reordered_entries_are_caught(six_entries, runner):
    with triggers_off() as session:
        for old, new in ((2, -2), (3, 2), (-2, 3)):
            session.execute(update(ENTRIES).where(ENTRIES.c.seq == old).values(seq=new))
    assert_caught_at(runner, 2, "does not link")


@pytest.mark.req("P11-4")
def test_a_truncated_tail_is_caught_by_the_head_receipt(six_entries, runner):
    receipt = ledger.issue_receipt()
    assert receipt["seq"] == 6
    with triggers_off() as session:
        session.execute(delete(ENTRIES).where(ENTRIES.c.seq == 6))
    assert_caught_at(runner, 6, "removed from the end")


def test_a_receipt_kept_outside_catches_a_tail_cut_with_its_receipts(six_entries, runner, tmp_path):
    kept = tmp_path / "receipt.json"
    kept.write_text(json.dumps(ledger.issue_receipt()))
    with triggers_off() as session:
        session.execute(delete(ENTRIES).where(ENTRIES.c.seq == 6))
        session.execute(delete(LedgerReceipt.__table__))
    assert ledger.verify().intact  # what is left of the chain is consistent ...
    cli = verify_cli(runner, "--receipt", str(kept))
    assert cli.exit_code != 0  # ... but the receipt kept outside knows better
    assert "#6" in cli.output and "removed from the end" in cli.output


def test_a_receipt_kept_outside_verifies_an_intact_ledger(six_entries, runner, tmp_path):
    kept = tmp_path / "receipt.json"
    kept.write_text(json.dumps(ledger.issue_receipt()))
    cli = verify_cli(runner, "--receipt", str(kept))
    assert cli.exit_code == 0, cli.output


def test_a_forged_receipt_is_refused(six_entries, runner, tmp_path):
    receipt = {**ledger.issue_receipt(), "seq": 99}
    kept = tmp_path / "receipt.json"
    kept.write_text(json.dumps(receipt))
    cli = verify_cli(runner, "--receipt", str(kept))
    assert cli.exit_code != 0
    assert "signature is not valid" in cli.output


def test_a_ledger_does_not_verify_with_another_key(six_entries, app):
    db.session.commit()
    other = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        LEDGER_KEY="another-ledger-key",
    )
    with other.app_context():
        try:
            result = ledger.verify()
        finally:
            db.session.remove()
            db.engine.dispose()
    assert result.first_break.seq == 1
    assert "altered" in result.first_break.problem
