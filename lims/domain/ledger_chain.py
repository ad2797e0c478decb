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
from functools import lru_cache
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
    """``2026-12-06T18:04:05.123456Z``: UTC, always with microseconds. (``isoformat``'s
    arguments are given by position: every moment of an API answer comes through here.)"""
    if moment.tzinfo is None:
        if moment.year >= 1000:  # as the database gives a moment back: written at once
            return moment.isoformat("T", "microseconds") + "Z"
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads the year, strftime's %Y does not
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat("T", "microseconds")[:-6] + "Z"  # without its "+00:00"


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


def _writer_source() -> str:
    """The source of ``canonical_values``: one expression writing every key and value in
    sorted key order. Each value is written inline by its field's usual type (an int, text,
    the moment, None) and by ``_value`` otherwise (anything unusual), with no call and no
    loop per field: verifying millions of entries, the per-field calls were half the time
    (decision 115). An int goes to the template as itself (``%s`` writes an exact int as its
    repr, in C); a naive moment (UTC, as the database gives it back) is written by its own
    ``isoformat`` and the template's ``Z``; an aware one by ``utc_iso`` (decision 120)."""
    integers = {"seq"} | {name for name in HASHED_FIELDS if name.endswith("_id")}
    values = []
    for name in sorted(HASHED_FIELDS):
        v = f"v[{HASHED_FIELDS.index(name)}]"
        if name in integers:
            values.append(
                f'({v} if {v}.__class__ is int else "null" if {v} is None else _value({v}))'
            )
        elif name == "recorded_at":
            values.append(
                f'(m.isoformat("T", "microseconds") if (m := {v}).__class__ is datetime'
                " and m.tzinfo is None and m.year >= 1000"
                " else utc_iso(m)[:-1] if m.__class__ is datetime else None)"
            )
        else:
            values.append(
                f'(_quote({v}) if {v}.__class__ is str else "null" if {v} is None else _value({v}))'
            )
    # The moment's quotes and its Z are the template's (its text needs no escaping); an
    # entry whose moment is not a datetime at all is written by ``_slow``.
    template = "{" + ",".join(json.dumps(name) + ":%s" for name in sorted(HASHED_FIELDS)) + "}"
    moment = json.dumps("recorded_at") + ":%s"
    template = template.replace(moment, json.dumps("recorded_at") + ':"%sZ"')
    return (
        "def canonical_values(v):\n"
        f"    values = ({', '.join(values)},)\n"
        f"    if values[{sorted(HASHED_FIELDS).index('recorded_at')}] is None:\n"
        "        return _slow(v)\n"
        f"    return ({template!r} % values).encode('ascii')\n"
    )


def _slow(values: Sequence[Any]) -> bytes:
    """An entry whose moment is not a datetime (None, in a test): by the definition itself."""
    content = {name: values[i] for i, name in enumerate(HASHED_FIELDS)}
    return canonical_json(content).encode("ascii")


_namespace: dict[str, Any] = {
    "_value": _value,
    "_quote": _quote,
    "_slow": _slow,
    "utc_iso": utc_iso,
    "datetime": datetime,
}
exec(_writer_source(), _namespace)  # our own source, written from the field names above
canonical_values: Callable[[Sequence[Any]], bytes] = _namespace["canonical_values"]
canonical_values.__doc__ = """``canonical_json`` of the hashed fields given as values in
``HASHED_FIELDS`` order, byte for byte, written directly: the keys are known and sorted once,
so verifying half a million entries does not build, sort and encode half a million dicts
(decisions 92 and 115; ``tests/unit/test_ledger_canonical.py`` holds the two to the same
bytes)."""


def canonical_content(entry: Mapping[str, Any]) -> bytes:
    return canonical_values([entry[name] for name in HASHED_FIELDS])


def values_hasher(key: bytes) -> Callable[[Sequence[Any]], str]:
    """The hash of an entry given as values in ``HASHED_FIELDS`` order, with ``key`` bound:
    the key's own blocks hashed once, not once per entry, and nothing looked up per entry
    (the parallel check calls it millions of times)."""
    fresh, write = _keyed(key).copy, canonical_values

    def hashed(values: Sequence[Any]) -> str:
        keyed = fresh()
        keyed.update(write(values))
        return keyed.hexdigest()

    return hashed


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


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
