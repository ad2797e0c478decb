"""Tamper evidence for the custody ledger (product §5).

Each entry's hash is HMAC-SHA256, keyed from configuration, over the entry's canonical
content, which includes its position and the previous entry's hash. Changing, removing,
inserting or reordering any entry breaks the chain from that entry on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The fields that are hashed, in the canonical order. Adding a field is a new chain version.
HASHED_FIELDS = (
    "seq",
    "unit_id",
    "din",
    "product_code",
    "division",
    "action",
    "from_status",
    "to_status",
    "from_custodian_id",
    "to_custodian_id",
    "from_location_id",
    "to_location_id",
    "actor_id",
    "actor_name",
    "actor_role",
    "recorded_at",
    "data",
    "reason",
    "corrects_id",
    "prev_hash",
)


def utc_iso(moment: datetime) -> str:
    """``2026-12-06T18:04:05.123456Z``: UTC, always with microseconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads the year, strftime's %Y does not
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(value: Any) -> str:
    """One spelling for one value: sorted keys, no spaces, ASCII only."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_default
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in ledger data")


_quote = json.encoder.encode_basestring_ascii  # json.dumps's own (C) string writer


def _value(value: Any) -> str:
    """One value as ``canonical_json`` writes it (the general case)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, datetime):
        return _quote(utc_iso(value))
    if type(value) is int:
        return int.__repr__(value)
    return canonical_json(value)


def _as_int(value: Any) -> str:
    return int.__repr__(value) if value.__class__ is int else _value(value)


def _as_text(value: Any) -> str:
    return _quote(value) if value.__class__ is str else _value(value)


def _as_moment(value: Any) -> str:
    return '"' + utc_iso(value) + '"' if value.__class__ is datetime else _value(value)


_INTEGERS = {"seq"} | {name for name in HASHED_FIELDS if name.endswith("_id")}
# (position in HASHED_FIELDS, the key as canonical JSON spells it, the writer its values
# usually need) in the order canonical JSON writes the keys (sorted).
_WRITERS = tuple(
    (
        HASHED_FIELDS.index(name),
        json.dumps(name) + ":",
        _as_int if name in _INTEGERS else _as_moment if name == "recorded_at" else _as_text,
    )
    for name in sorted(HASHED_FIELDS)
)


def canonical_values(values: Sequence[Any]) -> bytes:
    """``canonical_json`` of the hashed fields given as values in ``HASHED_FIELDS`` order, byte
    for byte, written directly: the keys are known and sorted once, so verifying half a million
    entries does not build, sort and encode half a million dicts (decision 92;
    ``tests/unit/test_ledger_canonical.py`` holds the two to the same bytes)."""
    return ("{" + ",".join([key + write(values[i]) for i, key, write in _WRITERS]) + "}").encode(
        "ascii"
    )


def canonical_content(entry: Mapping[str, Any]) -> bytes:
    return canonical_values([entry[name] for name in HASHED_FIELDS])


def values_hash(key: bytes, values: Sequence[Any]) -> str:
    return hmac.new(key, canonical_values(values), hashlib.sha256).hexdigest()


def entry_hash(key: bytes, entry: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical_content(entry), hashlib.sha256).hexdigest()


def sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int | None
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry #{self.seq} (id {self.entry_id})" if self.seq is not None else "the chain"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    last_seq: int
    last_hash: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(
    key: bytes,
    entries: Iterable[Mapping[str, Any]],
    progress: Callable[[int], None] | None = None,
    *,
    first_seq: int = 1,
    prev_hash: str = GENESIS,
) -> VerifyResult:
    """Recompute the chain in ``seq`` order and name the first entry that does not match.

    ``entries`` must be every entry ordered by ``seq``; each mapping carries the hashed
    fields plus ``id`` and ``entry_hash``. From the middle (QA's quick check, decision 94):
    the entries from ``first_seq`` on, the first linking to ``prev_hash`` (a signed receipt's).
    """
    expected_seq, prev, checked = first_seq, prev_hash, 0
    for entry in entries:
        seq, entry_id = entry["seq"], entry["id"]
        if seq != expected_seq:
            problem = f"expected entry #{expected_seq} next but found #{seq}: " + (
                "entries are missing"
                if seq > expected_seq
                else "entries are duplicated or reordered"
            )
            return VerifyResult(checked, expected_seq - 1, prev, ChainBreak(seq, entry_id, problem))
        if entry["prev_hash"] != prev:
            return VerifyResult(
                checked,
                seq - 1,
                prev,
                ChainBreak(
                    seq,
                    entry_id,
                    "does not link to the entry before it (an entry was removed, inserted or reordered)",
                ),
            )
        if not hmac.compare_digest(entry_hash(key, entry), entry["entry_hash"]):
            return VerifyResult(
                checked,
                seq - 1,
                prev,
                ChainBreak(
                    seq, entry_id, "content does not match its hash (the entry was altered)"
                ),
            )
        prev, expected_seq, checked = entry["entry_hash"], seq + 1, checked + 1
        if progress is not None:
            progress(checked)
    return VerifyResult(checked, expected_seq - 1, prev, None)
