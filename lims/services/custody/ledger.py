"""The custody ledger: the one module that writes ledger rows, and the verifier.

Rows are only ever inserted. The database refuses UPDATE/DELETE/TRUNCATE by trigger.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, insert, select

from ...db import lock, transaction
from ...domain.errors import Conflict
from ...domain.ledger_chain import (
    GENESIS,
    HASHED_FIELDS,
    ChainBreak,
    VerifyResult,
    canonical_json,
    entry_hash,
    sign,
    utc_iso,
    verify_chain,
)
from ...driver import DriverSelect, attach, column_keys
from ...extensions import db
from ...models import LedgerEntry, LedgerReceipt, Unit, User
from ...models.types import utcnow
from . import ledger_parallel


def _key() -> bytes:
    return current_app.config["LEDGER_KEY"].encode()


@dataclass(frozen=True)
class Movement:
    """What an action did to a unit: status, custodian and location, before and after."""

    from_status: str | None
    to_status: str | None
    from_custodian_id: int | None
    to_custodian_id: int | None
    from_location_id: int | None
    to_location_id: int | None


def movement_of(unit: Unit | None, *, before: Mapping[str, Any] | None = None) -> Movement:
    before = before or {}
    return Movement(
        before.get("status"),
        unit.status if unit else None,
        before.get("custodian_id"),
        unit.custodian_id if unit else None,
        before.get("location_id"),
        unit.location_id if unit else None,
    )


def position(unit: Unit) -> dict[str, Any]:
    """Where a unit stands now: status, custodian, location (an action's ``before``)."""
    return {
        "status": unit.status,
        "custodian_id": unit.custodian_id,
        "location_id": unit.location_id,
    }


def standing(unit: Unit) -> Movement:
    """The movement of an entry that records something about a unit without moving it."""
    return movement_of(unit, before=position(unit))


# The statements every entry runs, built once: a statement made anew on each call is built
# and given its cache key again every time (decision 121).
_HEAD = select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
# ``append`` runs under the ledger's lock, which every writer waits for: its head read and
# its INSERT run on the driver (decision 123), not through the ORM's execution and unit of
# work, which were two thirds of the time the lock was held.
_HEAD_ROW = DriverSelect(_HEAD)
_ENTRY_KEYS = tuple(k for k in column_keys(LedgerEntry) if k != "id")
_INSERT_ENTRY = DriverSelect(
    insert(LedgerEntry)
    .values({k: bindparam(f"new_{k}") for k in _ENTRY_KEYS})
    .returning(LedgerEntry.id)
)


def entry_values(
    *,
    unit: Any,
    action: str,
    actor: Any,
    movement: Movement,
    data: Mapping[str, Any],
    at: datetime,
    reason: str | None = None,
    corrects_id: int | None = None,
) -> dict[str, Any]:
    """An entry's content before it is given its place in the chain (its seq and hashes):
    ``unit`` and ``actor`` are anything with a unit's and a person's attributes (the bench
    seed's in-memory ones too)."""
    return {
        "unit_id": unit.id if unit else None,
        "din": unit.din if unit else None,
        "product_code": unit.product_code if unit else None,
        "division": unit.division if unit else None,
        "action": action,
        "from_status": movement.from_status,
        "to_status": movement.to_status,
        "from_custodian_id": movement.from_custodian_id,
        "to_custodian_id": movement.to_custodian_id,
        "from_location_id": movement.from_location_id,
        "to_location_id": movement.to_location_id,
        "actor_id": actor.id,
        "actor_name": actor.full_name,
        "actor_role": actor.role,
        "recorded_at": at,
        "data": canonical_json(dict(data)),
        "reason": reason,
        "corrects_id": corrects_id,
    }


def append(
    *,
    unit: Unit | None,
    action: str,
    actor: User,
    movement: Movement,
    data: Mapping[str, Any],
    reason: str | None = None,
    corrects: LedgerEntry | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry, chained to the current head, inside the caller's transaction."""
    db.session.flush()  # the unit's id and changes exist before they are recorded
    values = entry_values(
        unit=unit,
        action=action,
        actor=actor,
        movement=movement,
        data=data,
        reason=reason,
        corrects_id=corrects.id if corrects else None,
        at=at or utcnow(),
    )
    key = _key()
    lock("lims.ledger")
    head = _HEAD_ROW.first({})
    values["seq"], values["prev_hash"] = (
        (head["seq"] + 1, head["entry_hash"]) if head else (1, GENESIS)
    )
    # Hash what the database will give back: microsecond UTC, as stored.
    values["entry_hash"] = entry_hash(key, {name: values[name] for name in HASHED_FIELDS})
    (entry_id,) = _INSERT_ENTRY.rows({f"new_{k}": v for k, v in values.items()})[0]
    entry = attach(LedgerEntry, {"id": entry_id, **values})
    assert entry is not None  # a new id: the session cannot hold it yet
    return entry


@dataclass(frozen=True)
class Draft:
    """One entry of a bulk append: what ``append`` takes, with the unit as plain values."""

    action: str
    movement: Movement
    data: Mapping[str, Any]
    unit_id: int | None = None
    din: str | None = None
    product_code: str | None = None
    division: str | None = None


def append_many(
    drafts: list[Draft], *, actor: User, at: datetime | None = None, batch: int = 2000
) -> int:
    """Append many entries at once, chained in order to the current head, inside the caller's
    transaction (a bulk import: one head read and a few multi-row INSERTs instead of a
    query and a flush per entry). Returns how many were appended."""
    if not drafts:
        return 0
    session = db.session
    session.flush()
    lock("lims.ledger")
    head = session.execute(_HEAD).first()
    seq, prev = (head.seq, head.entry_hash) if head else (0, GENESIS)
    recorded_at = at or utcnow()
    key = _key()
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        seq += 1
        row = {
            "seq": seq,
            "unit_id": draft.unit_id,
            "din": draft.din,
            "product_code": draft.product_code,
            "division": draft.division,
            "action": draft.action,
            "from_status": draft.movement.from_status,
            "to_status": draft.movement.to_status,
            "from_custodian_id": draft.movement.from_custodian_id,
            "to_custodian_id": draft.movement.to_custodian_id,
            "from_location_id": draft.movement.from_location_id,
            "to_location_id": draft.movement.to_location_id,
            "actor_id": actor.id,
            "actor_name": actor.full_name,
            "actor_role": actor.role,
            "recorded_at": recorded_at,
            "data": canonical_json(dict(draft.data)),
            "reason": None,
            "corrects_id": None,
            "prev_hash": prev,
        }
        row["entry_hash"] = prev = entry_hash(key, {name: row[name] for name in HASHED_FIELDS})
        rows.append(row)
    table = LedgerEntry.__table__
    for start in range(0, len(rows), batch):
        session.execute(table.insert(), rows[start : start + batch])
    return len(rows)


def _stored_entries(batch: int = 2000, after: int = 0) -> Iterator[dict[str, Any]]:
    """The entries in seq order, all of them or those after entry #``after``."""
    columns = [getattr(LedgerEntry, name) for name in (*HASHED_FIELDS, "id", "entry_hash")]
    stmt = (
        select(*columns)
        .order_by(LedgerEntry.seq, LedgerEntry.id)
        .execution_options(yield_per=batch)
    )
    if after:
        stmt = stmt.where(LedgerEntry.seq > after)
    for row in db.session.execute(stmt):
        yield row._asdict()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def verify(progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Recompute the whole chain, then check it against every stored head receipt.

    Every receipt, highest entry first: the highest tells whether the tail was cut, and an
    older genuine receipt put back in (an attacker hiding a cut) cannot stand in for it.
    One query reads them all with the hash each names (decision 59)."""
    result = _verify_entries(progress)
    if not result.intact:
        return result
    return against_receipts(result)


def verify_after(
    seq: int, prev_hash: str, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """QA's quick check (decision 94): the entries after #``seq`` recomputed, the first
    linking to ``prev_hash`` (the hash a receipt signed for #``seq``), in this process."""
    return verify_chain(
        _key(), _stored_entries(after=seq), progress, first_seq=seq + 1, prev_hash=prev_hash
    )


def against_receipts(result: VerifyResult, above: int = -1) -> VerifyResult:
    """An intact chain checked against every stored receipt above entry #``above`` (all of
    them by default), the highest first; the first that does not hold is the break."""
    for receipt, stored in _receipts_with_their_entries(above):
        problem = check_receipt(receipt_payload(receipt), result, stored_hash=stored)
        if problem:
            return VerifyResult(
                result.checked,
                result.last_seq,
                result.last_hash,
                ChainBreak(receipt.seq, None, problem),
            )
    return result


def _verify_entries(progress: Callable[[int], None] | None) -> VerifyResult:
    """The chain recomputed: on every core when the ledger is long and the process may start
    others (decision 92), else in this process; a break is always named by the sequential
    check."""
    workers = current_app.config.get("LEDGER_VERIFY_WORKERS") or ledger_parallel.default_workers()
    engine = db.engine
    in_memory = engine.url.get_backend_name() == "sqlite" and engine.url.database in (
        None,
        "",
        ":memory:",
    )
    if workers > 1 and not in_memory and ledger_parallel.can_fork_workers():
        last_seq, total = db.session.execute(
            select(func.coalesce(func.max(LedgerEntry.seq), 0), func.count(LedgerEntry.id))
        ).one()
        if total >= ledger_parallel.PARALLEL_FROM:
            url = engine.url.render_as_string(hide_password=False)
            found = ledger_parallel.verify_parallel(url, _key(), last_seq, workers, progress)
            if found is not None and found[0] == total:
                return VerifyResult(found[0], last_seq, found[1], None)
    return verify_chain(_key(), _stored_entries(), progress)


def _receipts_with_their_entries(above: int = -1) -> Iterator[tuple[LedgerReceipt, str | None]]:
    rows = db.session.execute(
        select(LedgerReceipt, LedgerEntry.entry_hash)
        .outerjoin(LedgerEntry, LedgerEntry.seq == LedgerReceipt.seq)
        .where(LedgerReceipt.seq > above)
        .order_by(LedgerReceipt.seq.desc(), LedgerReceipt.id.desc())
        .execution_options(yield_per=1000)
    )
    yield from rows  # (receipt, the hash stored at its entry or None)


def receipt_payload(receipt: LedgerReceipt) -> dict[str, Any]:
    return {
        "seq": receipt.seq,
        "entry_hash": receipt.entry_hash,
        "issued_at": utc_iso(receipt.issued_at),
        "signature": receipt.signature,
    }


def _receipt_message(seq: int, head_hash: str, issued_at: str) -> str:
    return f"lims-ledger-head|{seq}|{head_hash}|{issued_at}"


def receipt_signature(seq: int, head_hash: str, issued_at: str) -> str:
    """The signature a genuine receipt of this head, issued then, carries (this ledger's key)."""
    return sign(_key(), _receipt_message(seq, head_hash, issued_at))


def _verified_message(job_id: int, seq: int, head_hash: str, verified_at: str) -> str:
    return f"lims-ledger-verified|{job_id}|{seq}|{head_hash}|{verified_at}"


def verification_signature(job_id: int, seq: int, head_hash: str, verified_at: str) -> str:
    """What an intact full verification records it reached: "job #j found entries #1–#seq
    intact, #seq with this hash, at this time", signed like a receipt (decision 94). The jobs
    table is an ordinary one; the signature keeps a made-up or altered record from standing
    in for a verification that never found the ledger intact."""
    return sign(_key(), _verified_message(job_id, seq, head_hash, verified_at))


def issue_receipt() -> dict[str, Any]:
    """Sign the current head; keep the printed receipt outside the database too.

    A head already signed is not signed again: its receipt is returned. Receipts only move
    forward (a trigger refuses one at or below a stored one), so a ledger that ends before
    the latest receipt is refused with the reason rather than signed."""
    with transaction():
        lock("lims.ledger")
        head = db.session.execute(
            select(LedgerEntry.seq, LedgerEntry.entry_hash)
            .order_by(LedgerEntry.seq.desc())
            .limit(1)
        ).first()
        seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
        latest = db.session.scalars(
            select(LedgerReceipt).order_by(LedgerReceipt.seq.desc()).limit(1)
        ).first()
        if latest is not None and latest.seq > seq:
            raise Conflict(
                f"the ledger ends at entry #{seq} but a receipt signed #{latest.seq}: "
                "entries were removed from the end; verify the ledger",
                code="ledger_cut",
            )
        if latest is not None and latest.seq == seq:
            return receipt_payload(latest)
        issued_at = utcnow()
        signature = sign(_key(), _receipt_message(seq, head_hash, utc_iso(issued_at)))
        receipt = LedgerReceipt(
            seq=seq, entry_hash=head_hash, issued_at=issued_at, signature=signature
        )
        db.session.add(receipt)
    return receipt_payload(receipt)


_UNREAD = object()


def check_receipt(
    payload: Mapping[str, Any], result: VerifyResult, *, stored_hash: Any = _UNREAD
) -> str | None:
    """Is a receipt genuine, and is the entry it names still in the chain? ``stored_hash``:
    the hash stored at the receipt's entry when the caller has read it already."""
    try:
        seq, head_hash = int(payload["seq"]), str(payload["entry_hash"])
        message = _receipt_message(seq, head_hash, str(payload["issued_at"]))
        signature = str(payload["signature"])
    except (KeyError, TypeError, ValueError):
        return "the receipt is malformed"
    if not hmac.compare_digest(sign(_key(), message), signature):
        return "the receipt's signature is not valid for this ledger key"
    if seq > result.last_seq:
        return (
            f"the receipt of {payload['issued_at']} names entry #{seq}, but the ledger "
            f"ends at #{result.last_seq}: entries were removed from the end"
        )
    if seq == 0:
        return None
    stored = stored_hash
    if stored is _UNREAD:
        stored = db.session.scalar(select(LedgerEntry.entry_hash).where(LedgerEntry.seq == seq))
    if stored is None or not hmac.compare_digest(stored, head_hash):
        return f"entry #{seq} no longer has the hash the receipt of {payload['issued_at']} signed"
    return None


def history(unit_ids: list[int]) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.unit_id.in_(unit_ids)).order_by(LedgerEntry.seq)
        )
    )
