"""The hash chain on its own (docs/product.md §5): build a chain in memory, tamper with it in
every way, and check that the verifier names the first entry that no longer fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lims.domain.ledger_chain import (
    GENESIS,
    HASHED_FIELDS,
    canonical_json,
    entry_hash,
    verify_chain,
)

KEY = b"unit-test-key"
START = datetime(2026, 1, 1, 8, tzinfo=UTC)


def make_chain(length: int = 5, key: bytes = KEY) -> list[dict]:
    entries, prev = [], GENESIS
    for seq in range(1, length + 1):
        entry = dict.fromkeys(HASHED_FIELDS)
        entry.update(
            id=seq,
            seq=seq,
            unit_id=1,
            action="receive",
            actor_id=1,
            actor_name="Tara",
            actor_role="technician",
            recorded_at=START + timedelta(minutes=seq),
            data=canonical_json({"step": seq}),
            prev_hash=prev,
        )
        entry["entry_hash"] = prev = entry_hash(key, entry)
        entries.append(entry)
    return entries


def reseal(entry: dict, key: bytes = KEY) -> None:
    """What a forger without the key cannot do correctly: recompute the hash."""
    entry["entry_hash"] = entry_hash(key, entry)


def test_an_untouched_chain_verifies():
    result = verify_chain(KEY, make_chain())
    assert result.intact
    assert (result.checked, result.last_seq) == (5, 5)


def test_an_empty_chain_verifies():
    assert verify_chain(KEY, []).intact


def test_progress_is_reported_per_entry():
    seen: list[int] = []
    verify_chain(KEY, make_chain(), seen.append)
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor_name", "Mallory"),
        ("data", canonical_json({"step": 99})),
        ("to_status", "released"),
        ("recorded_at", START + timedelta(minutes=3, microseconds=1)),
        ("reason", "edited later"),
    ],
)
def test_an_edited_field_is_caught_at_that_entry(field, value):
    chain = make_chain()
    chain[2][field] = value
    result = verify_chain(KEY, chain)
    assert result.first_break.seq == 3
    assert "altered" in result.first_break.problem
    assert result.checked == 2


def test_an_entry_resealed_with_another_key_is_caught():
    chain = make_chain()
    chain[2]["actor_name"] = "Mallory"
    reseal(chain[2], b"guessed-key")
    assert verify_chain(KEY, chain).first_break.seq == 3


def test_a_removed_entry_is_caught_at_the_gap():
    chain = make_chain()
    del chain[2]
    result = verify_chain(KEY, chain)
    assert result.first_break.seq == 4
    assert "missing" in result.first_break.problem


def test_an_inserted_entry_is_caught_even_when_renumbered_and_linked():
    chain = make_chain()
    forged = {
        **chain[1],
        "id": 99,
        "seq": 3,
        "actor_name": "Mallory",
        "prev_hash": chain[1]["entry_hash"],
    }
    forged["entry_hash"] = "f" * 64
    for entry in chain[2:]:
        entry["seq"] += 1
    chain.insert(2, forged)
    assert verify_chain(KEY, chain).first_break.seq == 3


def test_reordered_entries_are_caught():
    chain = make_chain()
    chain[1]["seq"], chain[2]["seq"] = 3, 2
    chain[1], chain[2] = chain[2], chain[1]
    result = verify_chain(KEY, chain)
    assert result.first_break.seq == 2
    assert "does not link" in result.first_break.problem


def test_a_chain_does_not_verify_with_another_key():
    assert verify_chain(b"another-key", make_chain()).first_break.seq == 1
