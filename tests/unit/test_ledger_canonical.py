"""The ledger's canonical content, written directly for speed, is byte for byte what
``canonical_json`` of the hashed fields gives: for every kind of value an entry holds,
including text that JSON must escape, non-ASCII names and far-off dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from lims.domain.ledger_chain import HASHED_FIELDS, canonical_content, canonical_json, utc_iso


def reference(entry: dict) -> bytes:
    """The definition: a dict of the hashed fields (datetimes as UTC text) in canonical JSON."""
    content = {
        name: utc_iso(entry[name]) if isinstance(entry[name], datetime) else entry[name]
        for name in HASHED_FIELDS
    }
    return canonical_json(content).encode("ascii")


# booleans too: ``True`` is an int to Python but ``true`` to JSON (the writer's type checks are exact)
ids = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.booleans()
text = st.none() | st.text()
moments = (
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
    )
    # naive, as a driver reads a timestamp column (the parallel check on PostgreSQL)
    | st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    | st.none()
    | st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 31)).map(
        lambda d: d.replace(tzinfo=timezone(timedelta(hours=5, minutes=30)))
    )
)

entries = st.fixed_dictionaries(
    {
        name: (
            moments
            if name == "recorded_at"
            else ids
            if name.endswith("_id") or name == "seq"
            else text
        )
        for name in HASHED_FIELDS
    }
)


@given(entries)
@settings(max_examples=400, deadline=None)
def test_written_directly_it_is_the_canonical_json(entry):
    assert canonical_content(entry) == reference(entry)


def test_a_real_entry_with_escapes_and_accents():
    entry = {name: None for name in HASHED_FIELDS}
    entry |= {
        "seq": 12,
        "action": "record_qc",
        "actor_name": 'Zoë Ångström \u2014 "QA"\n',
        "data": '{"note":"50 % \\\\ <b>","value":86.5}',
        "recorded_at": datetime(2026, 12, 6, 18, 4, 5, 123456, tzinfo=UTC),
        "prev_hash": "0" * 64,
    }
    assert canonical_content(entry) == reference(entry)
    assert b'"recorded_at":"2026-12-06T18:04:05.123456Z"' in canonical_content(entry)


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30))
    | st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
@settings(max_examples=300, deadline=None)
def test_utc_text_is_what_strftime_wrote(moment):
    as_utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    assert utc_iso(moment) == as_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
